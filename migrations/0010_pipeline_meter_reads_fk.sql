-- Pipelines, throughput (issue 6): meter reads lose their foreign key to accounts. The check
-- cost ~60 ms per 10,000 reads under agent reports (one key-share probe per row), and guards
-- nothing: a read's account is its pipeline job's, which `pipeline_jobs` already checks, and
-- accounts are never deleted.
ALTER TABLE meter_reads DROP CONSTRAINT meter_reads_account_id_fkey;
