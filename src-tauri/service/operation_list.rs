// Every operation of the UI, declared once. The HTTP API's routes (http/operations.rs) and its
// OpenAPI document (http/openapi.rs), the window's Tauri commands and their permissions
// (desktop/commands.rs, build.rs) and the UI's TypeScript client (ui/src/api/operations.ts,
// written by `cargo test`) are generated from this list; each operation runs one
// `service::Console` method of the same name. Its request and answer types derive
// `schemars::JsonSchema` (and ts-rs's `TS` in tests).
//
// This file holds only the macro: build.rs `include!`s it to read the names (so it has no `//!`
// doc, no `use`). An entry reads:
//
//     /// What it does (the TypeScript method's comment; its first sentence the OpenAPI summary).
//     name [flags]: METHOD "/path/{param}" (param: Type, ...) input: Request => Response;
//
// - `name` is the Tauri command, and in camelCase the TypeScript method, and the `Console`
//   method (which takes the path parameters, then the request).
// - `input` says where the request comes from over HTTP: `none` (no request), `query` (the query
//   string), `json` (the JSON body), or `text(field)` (the raw body into `field`, the other
//   fields from the query string: a config file's text). Over Tauri the request is the `request`
//   argument and each path parameter an argument of its own name.
// - flags: `created` (HTTP answers 201), `desktop` (only the window has it: it reads a local
//   path, or answers what HTTP streams).
//
// HTTP-only file transfers (uploading a history file, the streamed CSV, an export's download)
// are not operations: they live in http/transfers.rs.
//
// Adding an operation: write its `Console` method (service/console.rs), then its line here.

macro_rules! operations {
    ($callback:ident) => {
        $callback! {
            /// The console's version and data folder.
            info: GET "/info" () none => ConsoleInfo;

            // --- integrations ---
            /// Every integration, or those of one kind.
            integrations: GET "/integrations" () query: IntegrationsQuery => Vec<Integration>;
            /// One integration by id or name.
            integration: GET "/integrations/{id}" (id: String) none => Integration;
            /// Saves a new integration from a config's text (an envelope, or a bare seed
            /// APIConfig/DatabaseConfig named by `name`).
            add_integration [created]: POST "/integrations" () text(config): ConfigText => Integration;
            /// Replaces an integration's config.
            update_integration: PUT "/integrations/{id}" (id: String) text(config): ConfigText => Integration;
            /// Checks a config as a save would and saves nothing: every problem at once, as an
            /// `invalid` error. `id`: the integration being edited.
            validate_integration: POST "/integrations/check" () text(config): ConfigCheck => ConfigChecked;
            /// Removes an integration (its history stays).
            remove_integration: DELETE "/integrations/{id}" (id: String) none => Integration;
            /// Sets one secret of an integration (kept in the secrets backend, never shown).
            set_secret: PUT "/integrations/{id}/secrets/{name}" (id: String, name: String) json: SecretValue => Done;
            /// The live columns of a (possibly unsaved) database config's table; `integration` is
            /// the one being edited, whose stored password is used where the config shows the mask.
            target_columns: POST "/integrations/columns" () json: ColumnsRequest => TargetColumns;
            /// Every integration's last delivery and its deliveries over a window (default 24h).
            deliveries: GET "/deliveries" () query: DeliveriesQuery => Vec<DeliverySummary>;

            // --- handoffs, attempts, retries ---
            /// Delivers one session's collected data.
            send: POST "/handoffs" () json: SendRequest => HandoffResult;
            /// Handoffs (configuration tests left out), newest first unless `sort` says otherwise
            /// (`limit` 1 to 10000, default 50).
            handoffs: GET "/handoffs" () query: HandoffsQuery => Vec<HandoffRow>;
            /// One page of the handoff list and the total matching (`limit` 1 to 1000).
            handoffs_page: GET "/handoffs/page" () query: HandoffsQuery => HandoffPage;
            /// A handoff's collected data, unmasked (audited).
            reveal: POST "/handoffs/{id}/reveal" (id: HandoffId) none => Revealed;
            /// Attempts, newest first (`limit` 1 to 10000, default 50).
            history: GET "/attempts" () query: HistoryQuery => Vec<AttemptSummary>;
            /// One page of the attempts and the total matching (`limit` 1 to 1000).
            history_page: GET "/attempts/page" () query: HistoryQuery => AttemptPage;
            /// One attempt, its retry chain and its handoff's masked data.
            attempt_view: GET "/attempts/{id}" (id: AttemptId) none => AttemptView;
            /// The attempts matching a filter as CSV text (masked data only, at most 100,000 rows;
            /// over HTTP `GET /attempts.csv` streams it).
            history_csv_text [desktop]: GET "/attempts.csv" () query: HistoryQuery => String;
            /// Retries one attempt's handoff (answered at once), counts a bulk retry (`dryRun`),
            /// or starts one as a job.
            retry: POST "/retries" () json: RetryRequest => RetryResponse;

            // --- statistics, health, tests ---
            /// Statistics over attempts and handoffs.
            stats: GET "/stats" () query: StatsQuery => Stats;
            /// Waits (up to `waitMs`) for the store to change after the change number `after`,
            /// then answers the number: a live view refreshes when it moves. Any instance's
            /// commit on the same store moves it.
            changes: GET "/changes" () query: ChangesQuery => Changes;
            /// The last health results kept for every integration.
            last_health: GET "/health" () none => LastHealth;
            /// Runs health checks as a job (its result is the `HealthReport`).
            run_health: POST "/health" () json: HealthRunRequest => JobStarted;
            /// An integration's kept health results, newest first.
            health_history: GET "/health/history" () query: HealthHistoryQuery => Vec<HealthSnapshot>;
            /// Tests an integration's configuration.
            run_test: POST "/tests" () json: TestRunRequest => TestReport;
            /// Test data generated from the field schema (nothing runs); the seed reproduces it.
            generate_test_data: POST "/tests/data" () json: TestDataRequest => GeneratedData;
            /// Checks custom test data against the schema: the data normalised, or an `invalid`
            /// error with one detail per field.
            check_test_data: POST "/tests/check" () json: TestCheckRequest => CheckedData;
            /// Long work's progress, then its result.
            job: GET "/jobs/{id}" (id: JobId) none => JobStatus;

            // --- exports ---
            /// Writes a history file (as `handoff-console export`) as a job. Over HTTP the file is
            /// kept on the console's machine for its download; the window writes it into the
            /// Downloads folder.
            export_history: POST "/exports" () json: ExportRequest => JobStarted;

            // --- intake: sources and the inbox ---
            /// Every intake source (no secrets).
            sources: GET "/sources" () none => Vec<Source>;
            /// One intake source by id or name.
            source: GET "/sources/{id}" (id: String) none => Source;
            /// Adds an intake source; the answer shows its secret, once.
            add_source [created]: POST "/sources" () json: SourceRequest => SourceSecret;
            /// Changes a source's settings (what is left out stays).
            update_source: PUT "/sources/{id}" (id: String) json: SourceChange => Source;
            /// Removes a source and its secrets (its inbox stays).
            remove_source: DELETE "/sources/{id}" (id: String) none => Source;
            /// Gives a source a new secret, shown once; the one it replaces is accepted for
            /// `keepPreviousHours` more.
            rotate_source_secret: POST "/sources/{id}/secret" (id: String) json: RotateSecretRequest => SourceSecret;
            /// Signs a test event with the source's secret and takes it as the listener would
            /// (verification, rate, inbox, mappings).
            send_test_event: POST "/sources/{id}/test-event" (id: String) json: TestEventRequest => IntakeAccepted;
            /// The intake listener's setting and where this console listens.
            intake_listener: GET "/intake-listener" () none => ListenerStatus;
            /// Saves the intake listener's setting; the window (or a `serve` started without
            /// `--intake-bind`) applies it at once.
            set_intake_listener: PUT "/intake-listener" () json: ListenerSettings => ListenerStatus;
            /// Inbox messages, newest first, and how many match.
            inbox: GET "/inbox" () query: InboxQuery => InboxPage;
            /// One inbox message, its body masked (mapped values by their field's type, the
            /// rest hidden).
            inbox_item: GET "/inbox/{id}" (id: InboxId) none => InboxView;
            /// An inbox message's body and headers as received (audited).
            reveal_inbox: POST "/inbox/{id}/reveal" (id: InboxId) none => InboxRevealed;
            /// Makes the handoff of a message a manual mapping holds, and delivers it.
            release_inbox: POST "/inbox/{id}/release" (id: InboxId) none => InboxItem;
            /// Maps a message again with the mappings as they are now (a new handoff when its
            /// first failed for good).
            reprocess_inbox: POST "/inbox/{id}/reprocess" (id: InboxId) none => InboxItem;
            /// Marks a message without a handoff as ignored.
            ignore_inbox: POST "/inbox/{id}/ignore" (id: InboxId) none => InboxItem;
            /// Mappings, of one source or of all.
            mappings: GET "/mappings" () query: MappingsQuery => Vec<Mapping>;
            /// One mapping by id (or by name, when only one has it).
            mapping: GET "/mappings/{id}" (id: String) none => Mapping;
            /// Adds a mapping, checked against its integration's fields.
            add_mapping [created]: POST "/mappings" () json: MappingRequest => Mapping;
            /// Replaces a mapping's settings.
            update_mapping: PUT "/mappings/{id}" (id: String) json: MappingRequest => Mapping;
            /// Removes a mapping.
            remove_mapping: DELETE "/mappings/{id}" (id: String) none => Mapping;
            /// What a sample body would become (nothing is sent or stored).
            try_mapping: POST "/mappings/try" () json: MappingTry => MappingPreview;
            /// Sample events and ready mappings of EHR-style bridges and a voice platform.
            mapping_presets: GET "/mappings/presets" () none => Vec<PresetSystem>;

            // --- the demo workspace ---
            /// Creates the demo workspace's integrations.
            create_demo: POST "/demo" () none => Vec<Integration>;
            /// The ids of the demo workspace's integrations.
            demo_integrations: GET "/demo" () none => DemoIntegrations;
            /// Removes the demo workspace (its integrations, history and target file).
            remove_demo: DELETE "/demo" () none => DemoRemoved;
            /// One sample handoff (generated data) to each demo integration, live.
            send_demo_samples: POST "/demo/samples" () none => DemoSamples;

            // --- exported history files, opened read-only ---
            /// The history files open now.
            history_files: GET "/history-files" () none => Vec<HistoryFileInfo>;
            /// Opens a local history file where it is (the browser uploads it instead).
            open_history_path [desktop]: POST "/history-files/path" () json: OpenPath => HistoryFileInfo;
            /// Closes a history file (an uploaded copy is deleted).
            close_history_file: DELETE "/history-files/{id}" (id: String) none => HistoryFileInfo;
            /// A history file's attempts.
            history_file_attempts: GET "/history-files/{id}/attempts" (id: String) query: HistoryQuery => Vec<AttemptSummary>;
            /// One page of a history file's attempts and the total matching.
            history_file_attempts_page: GET "/history-files/{id}/attempts/page" (id: String) query: HistoryQuery => AttemptPage;
            /// One attempt of a history file, its retry chain and its handoff's masked data.
            history_file_attempt_view: GET "/history-files/{id}/attempts/{attempt_id}" (id: String, attempt_id: AttemptId) none => AttemptView;
            /// One page of a history file's handoffs and the total matching.
            history_file_handoffs_page: GET "/history-files/{id}/handoffs/page" (id: String) query: HandoffsQuery => HandoffPage;
            /// A history file's statistics.
            history_file_stats: GET "/history-files/{id}/stats" (id: String) query: StatsQuery => Stats;
            /// A history file's audit trail, newest first.
            history_file_audit: GET "/history-files/{id}/audit" (id: String) query: AuditQuery => Vec<AuditEvent>;
        }
    };
}
