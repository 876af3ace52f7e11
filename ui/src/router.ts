import { useEffect, useState } from "react";

/** The UI's routes are paths (`/stats/integrations/<id>`, `/inbox/<source>`); `serve` answers
 * index.html for them, so a reload or a shared link opens the same screen. */
export type Route =
  | { screen: "integrations"; id?: string }
  | { screen: "tests"; integration?: string }
  | { screen: "stats"; integration?: string; session?: string }
  | { screen: "health" }
  | { screen: "history-file" }
  | { screen: "sources" }
  | { screen: "mappings"; source?: string }
  | { screen: "inbox"; source?: string };

/** A malformed `%` escape in a hand-typed link is kept as typed, not a crash. */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export function parseRoute(path: string): Route {
  const parts = path.split("/").filter(Boolean).map(decodeSegment);
  switch (parts[0]) {
    case "tests":
      return { screen: "tests", integration: parts[1] };
    case "stats":
      if (parts[1] === "integrations" && parts[2]) return { screen: "stats", integration: parts[2] };
      if (parts[1] === "sessions" && parts[2]) return { screen: "stats", session: parts[2] };
      return { screen: "stats" };
    case "health":
      return { screen: "health" };
    case "history-file":
      return { screen: "history-file" };
    case "sources":
      return { screen: "sources" };
    case "mappings":
      return { screen: "mappings", source: parts[1] };
    case "inbox":
      return { screen: "inbox", source: parts[1] };
    case "integrations":
      return { screen: "integrations", id: parts[1] };
    default:
      return { screen: "integrations" };
  }
}

export function routePath(route: Route): string {
  const enc = encodeURIComponent;
  switch (route.screen) {
    case "tests":
      return route.integration ? `/tests/${enc(route.integration)}` : "/tests";
    case "stats":
      if (route.integration) return `/stats/integrations/${enc(route.integration)}`;
      if (route.session) return `/stats/sessions/${enc(route.session)}`;
      return "/stats";
    case "health":
      return "/health";
    case "history-file":
      return "/history-file";
    case "sources":
      return "/sources";
    case "mappings":
      return route.source ? `/mappings/${enc(route.source)}` : "/mappings";
    case "inbox":
      return route.source ? `/inbox/${enc(route.source)}` : "/inbox";
    case "integrations":
      return route.id ? `/integrations/${enc(route.id)}` : "/integrations";
  }
}

const listeners = new Set<() => void>();

export function navigate(route: Route | string): void {
  const path = typeof route === "string" ? route : routePath(route);
  if (path !== window.location.pathname) history.pushState(null, "", path);
  listeners.forEach((l) => l());
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.pathname));
  useEffect(() => {
    const update = () => setRoute(parseRoute(window.location.pathname));
    listeners.add(update);
    window.addEventListener("popstate", update);
    return () => {
      listeners.delete(update);
      window.removeEventListener("popstate", update);
    };
  }, []);
  return route;
}
