import { Empty } from "../components/state";

export function StatsPanel() {
  return (
    <section className="screen">
      <Empty title="StatsPanel">This screen is being built.</Empty>
    </section>
  );
}
