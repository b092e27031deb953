-- Every accepted log line, loaded from the Queue by the consumer.
--
-- ReplacingMergeTree on (tenant, deployment_id, epoch, seq): a redelivered
-- Queue message inserts the same rows again, and FINAL (used by every read)
-- returns each seq once. Rows of one seq are identical, so any copy wins.
-- Partitions and TTL follow received_at, the time the Deployment object
-- accepted the line: it is the same in every copy of a row (so duplicates
-- meet in one partition) and an agent's clock cannot shorten retention.
-- message_plain is the message without ANSI escapes, for search; the
-- ngram index on it makes `q` on one deployment cheap.
CREATE TABLE IF NOT EXISTS log_lines
(
    tenant LowCardinality(String),
    deployment_id String,
    epoch UInt32,
    seq UInt64,
    timestamp DateTime64(3, 'UTC'),
    received_at DateTime64(3, 'UTC'),
    step_id LowCardinality(String),
    level LowCardinality(String),
    stream LowCardinality(String),
    message String CODEC(ZSTD(3)),
    metadata String CODEC(ZSTD(3)),
    redaction_state LowCardinality(String),
    partial Bool,
    message_plain String MATERIALIZED
        replaceRegexpAll(message, '\x1B(\\[[0-?]*[ -/]*[@-~]|\\][^\x07\x1B]*(\x07|\x1B\\\\)?|_[^\x07]*\x07?|[@-Z\\\\-_])', '')
        CODEC(ZSTD(3)),
    INDEX message_ngrams lowerUTF8(message_plain) TYPE ngrambf_v1(3, 65536, 2, 0) GRANULARITY 1
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMMDD(received_at)
ORDER BY (tenant, deployment_id, epoch, seq)
TTL toDateTime(received_at) + INTERVAL 30 DAY DELETE
SETTINGS ttl_only_drop_parts = 1;
