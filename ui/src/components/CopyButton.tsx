/** A small button that copies a text (an endpoint, an id) and says whether it could. */
import { useState } from "react";

export function CopyButton({ text, label }: { text: string; label: string }) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  return (
    <button
      type="button"
      className="small copy-button"
      aria-label={label}
      title={state === "failed" ? "The browser refused the clipboard: select the text and copy it" : label}
      onClick={() =>
        navigator.clipboard.writeText(text).then(
          () => setState("copied"),
          () => setState("failed"),
        )
      }
    >
      {state === "copied" ? "Copied" : state === "failed" ? "Select it to copy" : "Copy"}
    </button>
  );
}
