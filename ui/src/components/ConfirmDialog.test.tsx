import { act, cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { useState } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ConsoleError } from "../api/errors";
import { ConfirmDialog, type ConfirmDialogProps } from "./ConfirmDialog";

afterEach(cleanup);

/** A button that opens the dialog, as the screens use it (kept mounted, `open` toggled). */
function Opener(props: Partial<ConfirmDialogProps> & { onKey?: (key: string) => void }) {
  const [open, setOpen] = useState(false);
  const { onKey, ...rest } = props;
  return (
    <div onKeyDown={(e) => onKey?.(e.key)}>
      <button type="button" onClick={() => setOpen(true)}>
        Remove…
      </button>
      <ConfirmDialog
        title="Remove it?"
        confirmLabel="Remove"
        onConfirm={() => {}}
        {...rest}
        open={open}
        onClose={() => {
          setOpen(false);
          rest.onClose?.();
        }}
      >
        <p>It cannot be undone.</p>
      </ConfirmDialog>
    </div>
  );
}

const dialog = () => screen.getByRole("alertdialog", { hidden: true });
const isOpen = () => dialog().hasAttribute("open");

describe("ConfirmDialog", () => {
  it("is a modal alertdialog named by its title and described by its text, with the focus on Cancel", () => {
    render(<Opener />);
    expect(isOpen()).toBe(false);
    const opener = screen.getByRole("button", { name: "Remove…" });
    opener.focus();
    fireEvent.click(opener);
    const d = screen.getByRole("alertdialog", { name: "Remove it?" });
    expect(d.getAttribute("aria-modal")).toBe("true");
    expect(document.getElementById(d.getAttribute("aria-describedby")!)?.textContent).toBe("It cannot be undone.");
    expect(document.activeElement).toBe(screen.getByRole("button", { name: "Cancel" }));
    // Cancel closes it and gives the focus back to the button that opened it.
    fireEvent.click(screen.getByRole("button", { name: "Cancel" }));
    expect(isOpen()).toBe(false);
    expect(document.activeElement).toBe(opener);
  });

  it("cancels on Escape, which goes no further (a drawer around it stays open)", () => {
    const onConfirm = vi.fn();
    const onKey = vi.fn();
    render(<Opener onConfirm={onConfirm} onKey={onKey} />);
    fireEvent.click(screen.getByRole("button", { name: "Remove…" }));
    fireEvent.keyDown(screen.getByRole("button", { name: "Cancel" }), { key: "Escape" });
    expect(isOpen()).toBe(false);
    expect(onKey).not.toHaveBeenCalled();
    expect(onConfirm).not.toHaveBeenCalled();
    // The browser's own Escape (the dialog's cancel event) closes it too.
    fireEvent.click(screen.getByRole("button", { name: "Remove…" }));
    fireEvent(dialog(), new Event("cancel", { cancelable: true }));
    expect(isOpen()).toBe(false);
  });

  it("closes at once after a plain confirm", () => {
    const onConfirm = vi.fn();
    render(<Opener onConfirm={onConfirm} />);
    fireEvent.click(screen.getByRole("button", { name: "Remove…" }));
    fireEvent.click(screen.getByRole("button", { name: "Remove" }));
    expect(onConfirm).toHaveBeenCalledTimes(1);
    expect(isOpen()).toBe(false);
  });

  it("stays open and says why when a plain confirm throws", () => {
    render(
      <Opener
        onConfirm={() => {
          throw new ConsoleError({ kind: "invalid", message: "nothing to remove" });
        }}
      />,
    );
    fireEvent.click(screen.getByRole("button", { name: "Remove…" }));
    fireEvent.click(screen.getByRole("button", { name: "Remove" }));
    expect(screen.getByRole("alert").textContent).toBe("nothing to remove");
    expect(isOpen()).toBe(true);
  });

  it("stays open and busy while an async confirm runs, shows its error, and closes when it succeeds", async () => {
    let settle: { resolve: () => void; reject: (e: unknown) => void } | undefined;
    const onConfirm = () =>
      new Promise<void>((resolve, reject) => {
        settle = { resolve, reject };
      });
    render(<Opener onConfirm={onConfirm} danger />);
    fireEvent.click(screen.getByRole("button", { name: "Remove…" }));
    const confirm = screen.getByRole("button", { name: "Remove" }) as HTMLButtonElement;
    expect(confirm.className).toBe("danger");
    fireEvent.click(confirm);
    // Busy: both buttons wait, Escape does nothing.
    expect(confirm.textContent).toBe("Working…");
    expect(confirm.disabled).toBe(true);
    expect((screen.getByRole("button", { name: "Cancel" }) as HTMLButtonElement).disabled).toBe(true);
    expect(dialog().getAttribute("aria-busy")).toBe("true");
    fireEvent.keyDown(dialog(), { key: "Escape" });
    expect(isOpen()).toBe(true);

    await act(async () => settle!.reject(new ConsoleError({ kind: "conflict", message: "it is in use" })));
    expect(screen.getByRole("alert").textContent).toBe("it is in use");
    expect(isOpen()).toBe(true);
    expect(confirm.disabled).toBe(false);

    // Asked again later, it starts without the last error.
    fireEvent.click(screen.getByRole("button", { name: "Cancel" }));
    fireEvent.click(screen.getByRole("button", { name: "Remove…" }));
    expect(screen.queryByRole("alert")).toBeNull();

    fireEvent.click(confirm);
    await act(async () => settle!.resolve());
    await waitFor(() => expect(isOpen()).toBe(false));
  });

  it("offers no confirm when there is nothing to confirm, and waits while the screen is busy", () => {
    const onConfirm = vi.fn();
    const { rerender } = render(<Opener onConfirm={onConfirm} confirmDisabled />);
    fireEvent.click(screen.getByRole("button", { name: "Remove…" }));
    const confirm = screen.getByRole("button", { name: "Remove" }) as HTMLButtonElement;
    expect(confirm.className).toBe("primary");
    expect(confirm.disabled).toBe(true);
    fireEvent.click(confirm);
    expect(onConfirm).not.toHaveBeenCalled();

    rerender(<Opener onConfirm={onConfirm} busy />);
    expect(confirm.textContent).toBe("Working…");
    fireEvent.keyDown(dialog(), { key: "Escape" });
    expect(isOpen()).toBe(true);
  });

  it("can be mounted only while it is needed, and gives the focus back when it goes", () => {
    function Mounted() {
      const [asking, setAsking] = useState(false);
      return (
        <>
          <button type="button" onClick={() => setAsking(true)}>
            Discard…
          </button>
          {asking && (
            <ConfirmDialog title="Discard your changes?" confirmLabel="Discard" onConfirm={() => {}} onClose={() => setAsking(false)}>
              <p>Not saved.</p>
            </ConfirmDialog>
          )}
        </>
      );
    }
    render(<Mounted />);
    const opener = screen.getByRole("button", { name: "Discard…" });
    opener.focus();
    fireEvent.click(opener);
    expect(screen.getByRole("alertdialog", { name: "Discard your changes?" }).hasAttribute("open")).toBe(true);
    expect(document.activeElement).toBe(screen.getByRole("button", { name: "Cancel" }));
    fireEvent.click(screen.getByRole("button", { name: "Discard" }));
    expect(screen.queryByRole("alertdialog", { hidden: true })).toBeNull();
    expect(document.activeElement).toBe(opener);
  });
});
