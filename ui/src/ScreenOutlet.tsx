/** The screen a route shows, inside a boundary: a screen that throws while rendering shows what
 * went wrong in its place, with the navigation still there, instead of a blank window.
 *
 * The screens are imported with the shell, not loaded lazily: split into chunks of their own,
 * the first frame came 15–25 ms sooner, but WebKit's web process took 8–10 MB more (its module
 * loader's code paged in), which the window's idle-memory goal cannot spare (BENCHMARKS.md,
 * "Desktop window"). */
import { Component, type ReactNode } from "react";
import type { Route } from "./router";
import { HealthDashboard } from "./screens/health/HealthDashboard";
import { HistoryFile } from "./screens/history-file/HistoryFile";
import { Inbox } from "./screens/inbox/Inbox";
import { Integrations } from "./screens/integrations/Integrations";
import { Mappings } from "./screens/mappings/Mappings";
import { Sources } from "./screens/sources/Sources";
import { StatsPanel } from "./screens/stats/StatsPanel";
import { TestPanel } from "./screens/tests/TestPanel";

export function ScreenOutlet({ route }: { route: Route }) {
  return (
    // A new screen starts without the last one's error.
    <ScreenBoundary key={route.screen}>
      <Screen route={route} />
    </ScreenBoundary>
  );
}

function Screen({ route }: { route: Route }) {
  switch (route.screen) {
    case "integrations":
      return <Integrations />;
    case "tests":
      return <TestPanel />;
    case "stats":
      return <StatsPanel />;
    case "health":
      return <HealthDashboard />;
    case "history-file":
      return <HistoryFile />;
    case "sources":
      return <Sources />;
    case "mappings":
      return <Mappings />;
    case "inbox":
      return <Inbox />;
  }
}

/** What a screen that failed shows instead of a blank window. */
class ScreenBoundary extends Component<{ children: ReactNode }, { error: Error | null }> {
  state: { error: Error | null } = { error: null };

  static getDerivedStateFromError(error: unknown) {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }

  render() {
    const { error } = this.state;
    if (!error) return this.props.children;
    return (
      <div className="state state-error" role="alert">
        <strong>This screen could not be shown</strong>
        <p>{error.message}</p>
        <p className="muted">The other screens still work; reloading the window starts this one again.</p>
        <button type="button" onClick={() => window.location.reload()}>
          Reload
        </button>
      </div>
    );
  }
}
