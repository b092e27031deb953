-- Search across the seam of a split line: a row whose line continues in
-- the next row (`partial`) carries the start of that next row in
-- search_overlap, and message_plain (what `q` searches) covers both, so a
-- match that straddles the 8 KiB split is found, on the row where it
-- starts. Also strips charset designations such as `ESC ( B` (tput sgr0).
ALTER TABLE log_lines ADD COLUMN IF NOT EXISTS search_overlap String DEFAULT '' CODEC(ZSTD(3)) AFTER partial;

ALTER TABLE log_lines MODIFY COLUMN message_plain String MATERIALIZED
    replaceRegexpAll(concat(message, search_overlap), '\x1B(\\[[0-?]*[ -/]*[@-~]|\\][^\x07\x1B]*(\x07|\x1B\\\\)?|_[^\x07]*\x07?|[()*+][0-9A-Za-z]|[@-Z\\\\-_])', '')
    CODEC(ZSTD(3));
