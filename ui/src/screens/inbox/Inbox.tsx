/** The Inbox: every message sources pushed in, newest first, and what became of it. It leads
 * with what is still undelivered (received, mapped, failed: counted, each a filter), then the
 * list (filters by status, source and search; pages of 50 with the total) and a drawer per
 * message (masked body, audited reveal, release / reprocess / ignore). `/inbox/<source>` opens
 * it filtered by a source. */
import { useCallback, useEffect, useRef, useState } from "react";
import { LiveBadge, useLiveRefresh } from "../../components/live";
import { client } from "../../api/client";
import type { InboxItem } from "../../api/types/InboxItem";
import type { InboxPage } from "../../api/types/InboxPage";
import type { InboxStatus } from "../../api/types/InboxStatus";
import type { Integration } from "../../api/types/Integration";
import type { Source } from "../../api/types/Source";
import { Empty, ErrorState, formatLocal, formatShort, useLoad } from "../../components/state";
import { navigate, useRoute } from "../../router";
import { InboxDrawer } from "./InboxDrawer";
import { STATUSES, STATUS_TEXT, UNDELIVERED, hasHandoff, isHeld, statusDetail } from "./model";
import { StatusBadge } from "./status";
import "./inbox.css";

const PAGE = 50;

type Counts = Record<InboxStatus, number>;

/** The undelivered statuses in the summary line. */
const UNDELIVERED_TEXT: Partial<Record<InboxStatus, string>> = {
  received: "not mapped yet",
  mapped: "mapped (on their way, or held for release)",
  failed: "failed",
};

/** How many messages have each status (for the source filter, if any): one count query each. */
async function countsOf(source: string | undefined): Promise<Counts> {
  const totals = await Promise.all(STATUSES.map((status) => client.inbox({ status, source, limit: 1 }).then((p) => p.total)));
  return Object.fromEntries(STATUSES.map((s, i) => [s, totals[i] ?? 0])) as Counts;
}

export function Inbox() {
  const route = useRoute();
  const source = route.screen === "inbox" ? route.source : undefined;
  const [status, setStatus] = useState<InboxStatus | "">("");
  const [text, setText] = useState("");
  const [search, setSearch] = useState("");
  const [offset, setOffset] = useState(0);
  const [open, setOpen] = useState<string | null>(null);

  const query = { status: status || undefined, source, search: search.trim() || undefined, limit: PAGE, offset };
  // A reload keeps the last rows and counts on screen until the new ones come.
  const [page, reloadPage] = useLoad<InboxPage>(() => client.inbox(query), [query]);
  const [counts, reloadCounts] = useLoad(() => countsOf(source), [source]);
  const refresh = useCallback(() => {
    reloadPage();
    reloadCounts();
  }, [reloadPage, reloadCounts]);
  const [lists] = useLoad(
    () =>
      Promise.all([
        client.sources().catch(() => [] as Source[]),
        client.integrations().catch(() => [] as Integration[]),
      ]),
    [],
  );
  const sources = lists.data?.[0] ?? [];
  const integrationList = lists.data?.[1];
  const integrationName = useCallback((id: string) => integrationList?.find((i) => i.id === id)?.name, [integrationList]);

  // Refreshes itself when the store changes, while on screen, unless a message is open or the
  // last load is still out.
  const pausedRef = useRef(false);
  useEffect(() => {
    pausedRef.current = open !== null || page.state === "loading";
  });
  const changes = useLiveRefresh(true, () => pausedRef.current, refresh);

  // The search waits for a pause in typing.
  const typing = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(typing.current), []);
  const onText = (value: string) => {
    setText(value);
    clearTimeout(typing.current);
    typing.current = setTimeout(() => {
      setSearch(value);
      setOffset(0);
    }, 300);
  };

  const pickStatus = (s: InboxStatus | "") => {
    setStatus(s);
    setOffset(0);
  };
  const pickSource = (s: string) => {
    setOffset(0);
    navigate({ screen: "inbox", source: s || undefined });
  };

  const c = counts.data;
  const undelivered = c ? UNDELIVERED.reduce((n, s) => n + c[s], 0) : null;
  const data = page.data;
  const filtered = !!(status || source || search.trim());
  const knownSource = !source || sources.length === 0 || sources.some((s) => s.name === source || s.id === source);

  return (
    <section className="screen inbox-screen" aria-labelledby="inbox-title">
      <div className="screen-head">
        <h1 id="inbox-title">Inbox{source ? `: ${source}` : ""}</h1>
        <button type="button" onClick={refresh}>
          Refresh
        </button>
        <LiveBadge changes={changes} enabled />
      </div>

      <div className="inbox-counts" role="group" aria-label="Messages by status">
        <p className={`undelivered-line ${undelivered ? "some" : "none"}`} role="status">
          {undelivered === null ? (
            "Counting…"
          ) : undelivered === 0 ? (
            <>Nothing undelivered{source ? ` from ${source}` : ""}.</>
          ) : (
            <>
              <strong>{undelivered.toLocaleString()}</strong> message{undelivered === 1 ? "" : "s"}
              {source ? ` from ${source}` : ""} not delivered:{" "}
              {UNDELIVERED.filter((s) => c && c[s] > 0)
                .map((s) => `${c![s].toLocaleString()} ${UNDELIVERED_TEXT[s]}`)
                .join(", ")}
              .
            </>
          )}
        </p>
        <div className="count-cards">
          {STATUSES.map((s) => (
            <button
              key={s}
              type="button"
              className={`count-card ${s}${status === s ? " active" : ""}${UNDELIVERED.includes(s) && c && c[s] > 0 ? " attention" : ""}`}
              aria-pressed={status === s}
              onClick={() => pickStatus(status === s ? "" : s)}
              title={STATUS_TEXT[s].means}
            >
              <span className="count-value">{c ? c[s].toLocaleString() : "…"}</span>
              <StatusBadge status={s} />
              <span className="count-means">{STATUS_TEXT[s].means}</span>
            </button>
          ))}
        </div>
      </div>

      <form className="row list-filters" role="search" aria-label="Filter the inbox" onSubmit={(e) => e.preventDefault()}>
        <div className="field">
          <label htmlFor="inbox-status">Status</label>
          <select id="inbox-status" value={status} onChange={(e) => pickStatus(e.target.value as InboxStatus | "")}>
            <option value="">All</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {STATUS_TEXT[s].label}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="inbox-source">Source</label>
          <select id="inbox-source" value={source ?? ""} onChange={(e) => pickSource(e.target.value)}>
            <option value="">All sources</option>
            {sources.map((s) => (
              <option key={s.id} value={s.name}>
                {s.displayName === s.name ? s.name : `${s.displayName} (${s.name})`}
              </option>
            ))}
            {!knownSource && source && <option value={source}>{source} (removed)</option>}
          </select>
        </div>
        <div className="field grow">
          <label htmlFor="inbox-search">Search</label>
          <input
            id="inbox-search"
            type="search"
            placeholder="Message, session or handoff id (or its start)"
            maxLength={200}
            value={text}
            onChange={(e) => onText(e.target.value)}
          />
        </div>
        {filtered && (
          <button
            type="button"
            className="clear-filters"
            onClick={() => {
              clearTimeout(typing.current);
              setText("");
              setSearch("");
              pickStatus("");
              if (source) navigate({ screen: "inbox" });
            }}
          >
            Clear filters
          </button>
        )}
      </form>

      {page.state === "error" && <ErrorState error={page.error} onRetry={reloadPage} />}
      {data && data.total === 0 && page.state !== "loading" ? (
        filtered ? (
          <Empty title="No message matches">
            <p>Nothing matches these filters.</p>
          </Empty>
        ) : (
          <Empty title="No messages yet">
            <p>
              Messages appear here as sources send them. Add a source on the Sources screen and send it a signed test event
              to see one.
            </p>
            <button type="button" onClick={() => navigate({ screen: "sources" })}>
              Go to Sources
            </button>
          </Empty>
        )
      ) : (
        data && (
          <>
            <div className="table-wrap">
              <table className="inbox-table" aria-busy={page.state === "loading"}>
                <thead>
                  <tr>
                    <th scope="col">Received</th>
                    <th scope="col">Source</th>
                    <th scope="col">Status</th>
                    <th scope="col">Message id</th>
                    <th scope="col">Integration</th>
                    <th scope="col">Handoff</th>
                    <th scope="col">Mapping</th>
                    <th scope="col">Error</th>
                  </tr>
                </thead>
                <tbody>
                  {data.items.map((item) => (
                    <Row key={item.id} item={item} integrationName={integrationName} active={open === item.id} onOpen={() => setOpen(item.id)} />
                  ))}
                </tbody>
              </table>
            </div>
            <div className="row pager">
              <span className="muted" aria-live="polite">
                {data.total === 0
                  ? "No messages"
                  : `${(offset + 1).toLocaleString()}–${(offset + data.items.length).toLocaleString()} of ${data.total.toLocaleString()} message${data.total === 1 ? "" : "s"}`}
              </span>
              <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
                Newer
              </button>
              <button type="button" disabled={offset + PAGE >= data.total} onClick={() => setOffset(offset + PAGE)}>
                Older
              </button>
            </div>
          </>
        )
      )}

      {open && <InboxDrawer id={open} integrationName={integrationName} onClose={() => setOpen(null)} onChanged={refresh} />}
    </section>
  );
}

function Row({
  item,
  integrationName,
  active,
  onOpen,
}: {
  item: InboxItem;
  integrationName: (id: string) => string | undefined;
  active: boolean;
  onOpen: () => void;
}) {
  const received = new Date(item.receivedAt);
  const integration = item.integrationName ?? (item.integrationId ? integrationName(item.integrationId) : undefined);
  const detail = statusDetail(item);
  return (
    <tr className={`${item.status}${isHeld(item) ? " held" : ""}${active ? " active" : ""}`} onClick={onOpen}>
      <td>
        <button type="button" className="linkish" title={formatLocal(received)} aria-label={`Open the message received ${formatLocal(received)} from ${item.sourceName}`} onClick={onOpen}>
          <time dateTime={item.receivedAt}>{formatShort(received)}</time>
        </button>
      </td>
      <td className="clip" title={item.sourceName}>
        {item.sourceName}
      </td>
      <td>
        <StatusBadge status={item.status} held={isHeld(item)} />
        {detail && !isHeld(item) && <div className="muted small">{detail}</div>}
      </td>
      <td className="clip mono" title={item.messageKey ?? undefined}>
        {item.messageKey ?? <span className="muted">—</span>}
      </td>
      <td className="clip" title={integration}>
        {integration ?? <span className="muted">—</span>}
      </td>
      <td className="clip">
        {hasHandoff(item) && item.sessionId ? (
          <a
            className="mono"
            href={`/stats/sessions/${encodeURIComponent(item.sessionId)}`}
            title={`Handoff ${item.handoffId}: open its session in Stats`}
            onClick={(e) => {
              e.preventDefault();
              e.stopPropagation();
              navigate({ screen: "stats", session: item.sessionId! });
            }}
          >
            {item.handoffId!.slice(0, 8)}…
          </a>
        ) : (
          <span className="muted">{isHeld(item) ? "not yet" : "—"}</span>
        )}
      </td>
      <td className="clip" title={item.mappingName ?? undefined}>
        {item.mappingName ?? <span className="muted">—</span>}
      </td>
      <td className="clip error-cell" title={item.error ?? undefined}>
        {item.error ?? ""}
      </td>
    </tr>
  );
}
