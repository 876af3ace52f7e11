import { useEffect, useState } from "react";
import { client } from "./api/client";
import { ConsoleError } from "./api/errors";
import { tokenStore } from "./api/transport";
import { navigate, routePath, useRoute, type Route } from "./router";
import { ScreenOutlet } from "./ScreenOutlet";
import { SignIn } from "./SignIn";
import "./components/nav.css";

type Theme = "light" | "dark";
const THEME_KEY = "handoff-console.theme";

function initialTheme(): Theme {
  const saved = localStorage.getItem(THEME_KEY);
  if (saved === "light" || saved === "dark") return saved;
  return window.matchMedia?.("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

const NAV: { route: Route; label: string; key: string }[] = [
  { route: { screen: "integrations" }, label: "Integrations", key: "1" },
  { route: { screen: "tests" }, label: "Test Panel", key: "2" },
  { route: { screen: "stats" }, label: "Stats", key: "3" },
  { route: { screen: "health" }, label: "Health", key: "4" },
  { route: { screen: "history-file" }, label: "History file", key: "5" },
  // Intake: what sources push in (added after the first five, whose shortcuts people know).
  { route: { screen: "sources" }, label: "Sources", key: "6" },
  { route: { screen: "mappings" }, label: "Mappings", key: "7" },
  { route: { screen: "inbox" }, label: "Inbox", key: "8" },
];

export function App() {
  const route = useRoute();
  const [theme, setTheme] = useState<Theme>(initialTheme);
  const [signedIn, setSignedIn] = useState<boolean | null>(null);

  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem(THEME_KEY, theme);
  }, [theme]);

  // Is the token (if any) good? The desktop window needs none.
  useEffect(() => {
    if (signedIn !== null) return;
    client.info().then(
      () => setSignedIn(true),
      (e) => setSignedIn(ConsoleError.from(e).kind === "unauthorized" ? false : true),
    );
  }, [signedIn]);

  // Alt+1..8 switch screens.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (!e.altKey || e.ctrlKey || e.metaKey) return;
      const item = NAV.find((n) => n.key === e.key);
      if (item) {
        e.preventDefault();
        navigate(item.route);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  if (signedIn === false) {
    return <SignIn onSignedIn={() => setSignedIn(null)} />;
  }

  return (
    <div className="app">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <nav className="sidebar" aria-label="Screens">
        <div className="brand">Handoff Console</div>
        <ul>
          {NAV.map((n) => (
            <li key={n.key} className={n.key === "6" ? "nav-group-start" : undefined}>
              {n.key === "6" && (
                <span className="nav-group" aria-hidden="true">
                  Intake
                </span>
              )}
              <a
                href={routePath(n.route)}
                aria-current={route.screen === n.route.screen ? "page" : undefined}
                aria-keyshortcuts={`Alt+${n.key}`}
                onClick={(e) => {
                  e.preventDefault();
                  navigate(n.route);
                }}
              >
                {n.label}
              </a>
            </li>
          ))}
        </ul>
        <div className="sidebar-foot">
          <button
            type="button"
            className="ghost"
            onClick={() => setTheme(theme === "dark" ? "light" : "dark")}
            aria-label={`Switch to ${theme === "dark" ? "light" : "dark"} theme`}
          >
            {theme === "dark" ? "Light theme" : "Dark theme"}
          </button>
          {client.transport.kind === "http" && (
            <button
              type="button"
              className="ghost"
              onClick={() => {
                tokenStore.clear();
                setSignedIn(false);
              }}
            >
              Sign out
            </button>
          )}
        </div>
      </nav>
      <main id="main" tabIndex={-1}>
        {signedIn === null ? null : <ScreenOutlet route={route} />}
      </main>
    </div>
  );
}
