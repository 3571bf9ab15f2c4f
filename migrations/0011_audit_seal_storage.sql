-- A seal's arrays hold a seq and a SHA-256 digest per entry: 400 kB for a seal of 10,000
-- entries, which TOAST tried to compress on every seal and could not (digests are random).
-- Stored out of line uncompressed instead.
ALTER TABLE audit_seals ALTER COLUMN entry_seqs SET STORAGE EXTERNAL,
                        ALTER COLUMN entry_digests SET STORAGE EXTERNAL;
