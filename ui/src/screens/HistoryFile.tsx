import { Empty } from "../components/state";

export function HistoryFile() {
  return (
    <section className="screen">
      <Empty title="HistoryFile">This screen is being built.</Empty>
    </section>
  );
}
