-- The metadata service looks up an instance's newest session of a role on every credentials
-- read; without this index that read scanned every live STS session (issue 9's profile).
CREATE INDEX sts_sessions_instance ON sts_sessions (source, session_name, role_id, create_date);
