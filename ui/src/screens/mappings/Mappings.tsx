/** The Mappings screen: for one source (picked here, or `/mappings/<source>`), its mappings:
 * which messages each takes, the integration it delivers to, realtime or manual, enabled;
 * the editor (presets, fields, a live preview on a sample) and removing one. */
import { useState } from "react";
import { client } from "../../api/client";
import { ConsoleError } from "../../api/errors";
import type { Integration } from "../../api/types/Integration";
import type { Mapping } from "../../api/types/Mapping";
import type { PresetSystem } from "../../api/types/PresetSystem";
import type { Source } from "../../api/types/Source";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { Empty, ErrorState, Spinner, useLoad } from "../../components/state";
import { navigate, useRoute } from "../../router";
import { MappingEditor } from "./MappingEditor";
import { eventSummary } from "./form";
import "../sources/sources.css";
import "./mappings.css";

interface Lists {
  sources: Source[];
  integrations: Integration[];
  presets: PresetSystem[];
}

async function loadLists(): Promise<Lists> {
  const [sources, integrations, presets] = await Promise.all([
    client.sources(),
    client.integrations(),
    // Presets only help start a mapping: without them the editor starts blank.
    client.mappingPresets().catch(() => [] as PresetSystem[]),
  ]);
  return { sources, integrations, presets };
}

export function Mappings() {
  const route = useRoute();
  const [lists, reloadLists] = useLoad(loadLists, []);
  const sources = lists.data?.sources ?? [];
  const wanted = route.screen === "mappings" ? route.source : undefined;
  // The source in the path, else the first one.
  const source = wanted ? sources.find((s) => s.name === wanted || s.id === wanted) : sources[0];
  const [mappings, reloadMappings] = useLoad(() => (source ? client.mappings({ source: source.id }) : Promise.resolve([] as Mapping[])), [source?.id]);
  const [editor, setEditor] = useState<{ editing?: Mapping } | null>(null);
  const [removing, setRemoving] = useState<Mapping | null>(null);
  const [notice, setNotice] = useState("");

  const names = new Map((lists.data?.integrations ?? []).map((i) => [i.id, i.name]));

  return (
    <section className="screen mappings-screen" aria-labelledby="mappings-title">
      <div className="screen-head">
        <h1 id="mappings-title">Mappings</h1>
        {source && (
          <button type="button" className="primary" onClick={() => setEditor({})}>
            Add mapping
          </button>
        )}
      </div>
      <p className="screen-intro muted">
        A mapping says which of a source's messages become handoffs, to which integration, and where each of the
        integration's fields comes from in the message.
      </p>

      {lists.state === "error" && !lists.data ? (
        <ErrorState error={lists.error} onRetry={reloadLists} />
      ) : !lists.data ? (
        <Spinner label="Loading…" />
      ) : sources.length === 0 ? (
        <Empty title="No sources yet">
          <p>Mappings belong to a source. Add the system that sends data in first.</p>
          <button type="button" className="primary" onClick={() => navigate({ screen: "sources" })}>
            Go to Sources
          </button>
        </Empty>
      ) : (
        <>
          <div className="row list-filters">
            <div className="field">
              <label htmlFor="mappings-source">Source</label>
              <select
                id="mappings-source"
                value={source?.name ?? ""}
                onChange={(e) => {
                  setNotice("");
                  navigate({ screen: "mappings", source: e.target.value });
                }}
              >
                {!source && <option value="">{wanted} (no such source)</option>}
                {sources.map((s) => (
                  <option key={s.id} value={s.name}>
                    {s.displayName === s.name ? s.name : `${s.displayName} (${s.name})`}
                  </option>
                ))}
              </select>
            </div>
            {source && (
              <span className="muted">
                May name:{" "}
                {source.integrations.length === 0
                  ? "no integration yet (tick some in the source's settings)"
                  : source.integrations.map((id) => names.get(id) ?? "a removed integration").join(", ")}
              </span>
            )}
          </div>
          {notice && (
            <p className="notice" role="status">
              {notice}
            </p>
          )}
          {!source ? (
            <ErrorState error={new ConsoleError({ kind: "notFound", message: `There is no source '${wanted}' (it may have been removed).` })} />
          ) : mappings.state === "error" ? (
            <ErrorState error={mappings.error} onRetry={reloadMappings} />
          ) : !mappings.data ? (
            <Spinner label="Loading mappings…" />
          ) : mappings.data.length === 0 ? (
            <Empty title={`${source.displayName} has no mappings yet`}>
              <p>Until it has one, its messages are kept in the Inbox as ignored (nothing is delivered). Start from a preset.</p>
              <button type="button" className="primary" onClick={() => setEditor({})}>
                Add a mapping
              </button>
            </Empty>
          ) : (
            <div className="table-wrap">
              <table className="mappings-table" aria-busy={mappings.state === "loading"}>
                <thead>
                  <tr>
                    <th scope="col">Mapping</th>
                    <th scope="col">Takes</th>
                    <th scope="col">Delivers to</th>
                    <th scope="col">Delivery</th>
                    <th scope="col">State</th>
                    <th scope="col">
                      <span className="sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {mappings.data.map((m) => (
                    <tr key={m.id} className={m.enabled ? undefined : "disabled"}>
                      <td className="wrap">
                        <span className="name">{m.name}</span>
                        <div className="muted small">
                          {m.fields.length} field{m.fields.length === 1 ? "" : "s"}: {m.fields.map((f) => f.field).join(", ")}
                        </div>
                      </td>
                      <td className="wrap mono small">{eventSummary(m.event)}</td>
                      <td className="wrap">{names.get(m.integrationId) ?? <span className="muted">a removed integration</span>}</td>
                      <td>
                        <span className={`badge ${m.sync === "manual" ? "warn" : "demo"}`}>{m.sync}</span>
                        {m.sync === "manual" && <div className="muted small">released by a person</div>}
                      </td>
                      <td>
                        <span className={`badge ${m.enabled ? "ok" : "err"}`}>{m.enabled ? "enabled" : "disabled"}</span>
                      </td>
                      <td>
                        <div className="row-actions">
                          <button type="button" onClick={() => setEditor({ editing: m })} aria-label={`Edit ${m.name}`}>
                            Edit
                          </button>
                          <button type="button" className="danger" onClick={() => setRemoving(m)} aria-label={`Remove ${m.name}`}>
                            Remove
                          </button>
                        </div>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}

      {editor && source && lists.data && (
        <MappingEditor
          key={editor.editing?.id ?? "new"}
          source={source}
          integrations={lists.data.integrations}
          presets={lists.data.presets}
          editing={editor.editing}
          onClose={() => setEditor(null)}
          onSaved={(saved) => {
            setEditor(null);
            setNotice(`Saved ${saved.name}.`);
            reloadMappings();
          }}
        />
      )}

      {removing && (
        <ConfirmDialog
          title={`Remove ${removing.name}?`}
          confirmLabel="Remove"
          danger
          onClose={() => setRemoving(null)}
          onConfirm={async () => {
            await client.removeMapping(removing.id);
            setNotice(`Removed ${removing.name}.`);
            reloadMappings();
          }}
        >
          <p>
            New messages it would take go to another mapping of the source, or are kept as ignored when none takes them.
            Messages it already made into handoffs are not changed; one it holds for release is mapped again, by the
            source's mappings as they are then, when it is released.
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}
