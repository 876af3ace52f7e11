import { Empty } from "../components/state";

export function HealthDashboard() {
  return (
    <section className="screen">
      <Empty title="HealthDashboard">This screen is being built.</Empty>
    </section>
  );
}
