-- How an attempt's record (request, response excerpt, message) was masked.
--   'structural': the request was built with each collected field's mask in its place, the
--                 target's words were masked by search and the console's own words hold no
--                 collected value (docs/architecture.md, "What an attempt records").
--   NULL:         recorded before: the whole record was searched for the collected values (or,
--                 before masking, not at all). The history export and a key rotation still pass
--                 those through the search; they never search a structurally masked record,
--                 whose words a search could only garble.
ALTER TABLE attempts ADD COLUMN masking TEXT CHECK (masking IS NULL OR masking = 'structural');
