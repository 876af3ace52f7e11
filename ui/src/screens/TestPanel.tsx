import { Empty } from "../components/state";

export function TestPanel() {
  return (
    <section className="screen">
      <Empty title="TestPanel">This screen is being built.</Empty>
    </section>
  );
}
