import { cleanup, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ScreenOutlet } from "./ScreenOutlet";

// Two screens stand in for the real ones: one renders, one throws while rendering (as a screen
// whose code fails, or whose chunk is gone after an upgrade, does).
vi.mock("./screens/tests/TestPanel", () => ({ TestPanel: () => <h1>Test panel here</h1> }));
vi.mock("./screens/health/HealthDashboard", () => ({
  HealthDashboard: () => {
    throw new Error("the health screen broke");
  },
}));

afterEach(cleanup);

describe("ScreenOutlet", () => {
  it("shows the route's screen", async () => {
    render(<ScreenOutlet route={{ screen: "tests" }} />);
    expect(await screen.findByRole("heading", { name: "Test panel here" })).toBeTruthy();
  });

  it("shows a screen that fails as an error in its place, and the next screen again", async () => {
    // React reports the caught error on the console; the test is about what the user sees.
    const quiet = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const { rerender } = render(<ScreenOutlet route={{ screen: "health" }} />);
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("This screen could not be shown");
    expect(alert.textContent).toContain("the health screen broke");
    expect(screen.getByRole("button", { name: "Reload" })).toBeTruthy();
    rerender(<ScreenOutlet route={{ screen: "tests" }} />);
    expect(await screen.findByRole("heading", { name: "Test panel here" })).toBeTruthy();
    expect(screen.queryByRole("alert")).toBeNull();
    quiet.mockRestore();
  });
});
