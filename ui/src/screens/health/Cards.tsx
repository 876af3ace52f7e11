import { LocalTime } from "../../components/state";
import { navigate } from "../../router";
import { type Card, type CardItem, type ShownStatus, checkLabel, countsText, foldedText, isProblem, statusLabel, worstReason } from "./model";
import { Trend } from "./Trend";

export function StatusBadge({ status }: { status: ShownStatus | null }) {
  return <span className={`badge ${status === null || status === "unknown" ? "demo" : status}`}>{statusLabel(status)}</span>;
}

function ms(v: number | null): string {
  return v === null ? "" : `${v} ms`;
}

interface CardProps {
  card: Card;
  /** Runs the checks of one integration; `null` while a run is going on. */
  onCheck: ((integrationId: string) => void) | null;
  /** The integration being checked on its own, if any. */
  checking: string | null;
  trendRound: number;
}

/** Lines without a problem shown before the rest fold away. */
const HEALTHY_SHOWN = 8;

export function HealthCard({ card, onCheck, checking, trendRound }: CardProps) {
  const withTrend = card.key === "databases" || card.key === "apis";
  // Problems always; the rest (not checked, then healthy) after them, the first few in full and
  // the others folded.
  const problems = card.items.filter((i) => isProblem(i.status));
  const rest = card.items.filter((i) => !isProblem(i.status));
  const fold = rest.length > HEALTHY_SHOWN + 2;
  const shown = fold ? [...problems, ...rest.slice(0, HEALTHY_SHOWN)] : card.items;
  const folded = fold ? rest.slice(HEALTHY_SHOWN) : [];
  return (
    <section className="card health-card" aria-labelledby={`hc-${card.key}`}>
      <header className="health-card-head">
        <span className={`dot ${card.status ?? "unknown"}`} aria-hidden="true" />
        <h2 id={`hc-${card.key}`}>{card.title}</h2>
        <StatusBadge status={card.status} />
        <span className="muted health-counts">{countsText(card.counts)}</span>
      </header>
      {card.items.length === 0 ? (
        <p className="muted health-none">
          {card.key === "local"
            ? "Not checked yet: run the checks."
            : card.hidden
              ? `All ${card.hidden} end-to-end check${card.hidden === 1 ? " is" : "s are"} healthy.`
              : card.key === "endToEnd"
                ? "Not run yet: run the checks."
                : "No integrations here."}
        </p>
      ) : (
        <>
          <ul className="health-items">
            {shown.map((item) => (
              <li key={item.key}>
                <Item item={item} withTrend={withTrend} onCheck={onCheck} checking={checking} trendRound={trendRound} />
              </li>
            ))}
          </ul>
          {folded.length > 0 && (
            // Many integrations without a problem after the problems: listed by name, one click
            // away, so a card of a hundred does not push the other cards out of sight.
            <details className="health-healthy">
              <summary>
                {foldedText(folded)}: {folded.slice(0, 6).map((i) => i.name).join(", ")}
                {folded.length > 6 ? ", …" : ""}
              </summary>
              <ul className="health-items">
                {folded.map((item) => (
                  <li key={item.key}>
                    <Item item={item} withTrend={withTrend} onCheck={onCheck} checking={checking} trendRound={trendRound} />
                  </li>
                ))}
              </ul>
            </details>
          )}
        </>
      )}
      {card.items.length > 0 && card.hidden ? (
        <p className="muted health-none">
          {card.hidden} healthy end-to-end check{card.hidden === 1 ? "" : "s"} not listed (see each integration above).
        </p>
      ) : null}
    </section>
  );
}

function Item({
  item,
  withTrend,
  onCheck,
  checking,
  trendRound,
}: {
  item: CardItem;
  withTrend: boolean;
  onCheck: CardProps["onCheck"];
  checking: string | null;
  trendRound: number;
}) {
  const id = item.integrationId;
  const only = item.checks[0];
  if (!id && item.checks.length === 1 && only) {
    // A local component is one check: its line says it all, nothing to expand.
    return (
      <div className="health-item health-item-flat">
        <span className={`dot ${item.status}`} aria-hidden="true" />
        <span className="health-item-name">{item.name}</span>
        <StatusBadge status={item.status} />
        <span className="muted health-reason">{only.reason ?? ""}</span>
      </div>
    );
  }
  return (
    <details className="health-item">
      <summary>
        <span className={`dot ${item.status}`} aria-hidden="true" />
        <span className="health-item-name">
          {item.name}
          {worstReason(item) && <span className="health-item-why">{worstReason(item)}</span>}
        </span>
        <StatusBadge status={item.status} />
        {withTrend && id ? <Trend integrationId={id} round={trendRound} /> : <span />}
        <span className="muted health-latency">{ms(item.latencyMs)}</span>
      </summary>
      <div className="health-item-body">
        <table className="health-checks">
          <thead>
            <tr>
              <th scope="col">Check</th>
              <th scope="col">Status</th>
              <th scope="col">Details</th>
              <th scope="col" className="num">
                Latency
              </th>
            </tr>
          </thead>
          <tbody>
            {item.checks.map((c, n) => (
              <tr key={`${c.name}-${n}`}>
                <td>{checkLabel(c.name)}</td>
                <td>
                  <StatusBadge status={c.status} />
                </td>
                <td className="health-reason">{c.reason ?? <span className="muted">—</span>}</td>
                <td className="num">{ms(c.latencyMs)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <div className="row health-item-foot">
          <span className="muted">
            {item.probed === false ? (
              "Not probed yet: only its recent deliveries are known. Check it to probe the target too."
            ) : (
              <>
                Checked <LocalTime value={item.checkedAt} />
              </>
            )}
          </span>
          {id && (
            <span className="row">
              <button type="button" onClick={() => navigate({ screen: "stats", integration: id })} aria-label={`Deliveries of ${item.name}`}>
                Deliveries
              </button>
              <button type="button" onClick={() => navigate({ screen: "tests", integration: id })} aria-label={`Test ${item.name}`}>
                Run a test
              </button>
              <button
                type="button"
                disabled={onCheck === null}
                onClick={() => onCheck?.(id)}
                aria-label={`Check ${item.name} now`}
              >
                {checking === id ? "Checking…" : "Check this one"}
              </button>
            </span>
          )}
        </div>
      </div>
    </details>
  );
}
