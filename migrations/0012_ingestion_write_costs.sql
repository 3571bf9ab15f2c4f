-- Ingestion, throughput (issue 4), measured on the 100-printer agent report benchmark
-- (`fleetcomm-upload-bench --devices-per-report 100 --audit off --rounds 3`): together, the
-- first two changes took PostgreSQL's CPU per upload from 18.7-19.6 ms to 16.1-18.0 ms, and the
-- median from 67 to 76 uploads/s.
--
-- 1. The per-row foreign keys of the ingestion tables go. Their checks are one key-share
--    probe of `devices` or `uploads` per row inserted, run as after-triggers (auto_explain
--    with log_triggers put them at a quarter of the batch statement, inflated by its
--    timing). They guard nothing the statement does not already guarantee: these rows are
--    written only by the ingestion statement, in the transaction that has just claimed the
--    upload and bound (upserted or locked) every device it writes for, and neither devices
--    nor uploads are ever deleted. Same reasoning as 0010.
ALTER TABLE device_snapshots DROP CONSTRAINT device_snapshots_device_id_fkey;
ALTER TABLE device_faults DROP CONSTRAINT device_faults_device_id_fkey;
ALTER TABLE upload_devices DROP CONSTRAINT upload_devices_upload_id_fkey;
ALTER TABLE upload_devices DROP CONSTRAINT upload_devices_device_id_fkey;

-- 2. Snapshots and usage rows are wide JSON documents that cross the 2 kB TOAST threshold;
--    lz4 compresses them several times faster than the default pglz, for a similar ratio.
--    Existing values keep their compression until rewritten. New partitions take the parent's
--    setting; existing ones do not (PostgreSQL 15 does not recurse), hence the loop.
ALTER TABLE device_snapshots
    ALTER COLUMN identity SET COMPRESSION lz4, ALTER COLUMN modules SET COMPRESSION lz4,
    ALTER COLUMN network SET COMPRESSION lz4, ALTER COLUMN properties SET COMPRESSION lz4,
    ALTER COLUMN status SET COMPRESSION lz4, ALTER COLUMN supplies SET COMPRESSION lz4,
    ALTER COLUMN usage SET COMPRESSION lz4;
ALTER TABLE usage_readings ALTER COLUMN items SET COMPRESSION lz4;
DO $$
DECLARE
    part regclass;
BEGIN
    FOR part IN SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = 'usage_readings'::regclass LOOP
        EXECUTE format('ALTER TABLE %s ALTER COLUMN items SET COMPRESSION lz4', part);
    END LOOP;
END
$$;

-- 3. Room on each page for the next version of rows that every report rewrites (the device,
--    its snapshot, its alert state, its pipeline lock), so that the update stays on the page
--    and skips the indexes (HOT). Before, 9 % of device updates were HOT under agent reports,
--    after, 73 %; PostgreSQL's CPU per 100-printer upload (`fleetcomm-upload-store-bench
--    --batch 3 --uploads 300 --senders 16 --devices-per-report 100`, 3 runs each, side by
--    side) 14.4-14.8 ms -> 13.0-13.2 ms. Pages already full keep their rows until rewritten.
ALTER TABLE devices SET (fillfactor = 70);
ALTER TABLE device_snapshots SET (fillfactor = 70);
ALTER TABLE device_alert_states SET (fillfactor = 70);
ALTER TABLE pipeline_device_locks SET (fillfactor = 70);
