import { Empty } from "../components/state";

export function Integrations() {
  return (
    <section className="screen">
      <Empty title="Integrations">This screen is being built.</Empty>
    </section>
  );
}
