-- The schema migrations/versions make on a new SQLite database, dumped by SQLite.
-- Written by `python tools/write_sqlite_head.py`; do not edit by hand.
-- revisions: 0001 0002 0003 0004 0005 0006 0007 0008 0009 0010 0011 0012 0013 0014 0015
BEGIN TRANSACTION;
CREATE TABLE accounts (
	id VARCHAR(40) NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	webhook_secret VARCHAR(100) NOT NULL, 
	is_admin BOOLEAN NOT NULL, 
	created_at DATETIME NOT NULL, unlabelled_duties_at DATETIME, "plan" VARCHAR(40) DEFAULT 'free' NOT NULL, plan_source VARCHAR(20) DEFAULT 'operator' NOT NULL, plan_started_at DATETIME, segment VARCHAR(20) DEFAULT 'creator' NOT NULL, stripe_customer_id VARCHAR(100), stripe_subscription_id VARCHAR(100), subscription_status VARCHAR(30), period_end DATETIME, daily_credit_limit BIGINT, monthly_credit_limit BIGINT, simulated BOOLEAN DEFAULT 0 NOT NULL, 
	CONSTRAINT pk_accounts PRIMARY KEY (id), 
	CONSTRAINT uq_accounts_name UNIQUE (name)
);
CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
INSERT INTO "alembic_version" VALUES('0015');
CREATE TABLE api_keys (
	id VARCHAR(40) NOT NULL, 
	account_id VARCHAR(40) NOT NULL, 
	prefix VARCHAR(32) NOT NULL, 
	key_hash VARCHAR(64) NOT NULL, 
	label VARCHAR(200), 
	created_at DATETIME NOT NULL, 
	last_used_at DATETIME, 
	revoked_at DATETIME, daily_credit_limit BIGINT, monthly_credit_limit BIGINT, 
	CONSTRAINT pk_api_keys PRIMARY KEY (id), 
	CONSTRAINT fk_api_keys_account_id_accounts FOREIGN KEY(account_id) REFERENCES accounts (id), 
	CONSTRAINT uq_api_keys_prefix UNIQUE (prefix)
);
CREATE TABLE audit_log (
	id INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, 
	actor VARCHAR(100) NOT NULL, 
	action VARCHAR(60) NOT NULL, 
	account_id VARCHAR(40), 
	subject VARCHAR(60), 
	policy VARCHAR(100), 
	decision VARCHAR(20), 
	categories JSON, 
	scores JSON, 
	rule VARCHAR(200), 
	data JSON, 
	CONSTRAINT pk_audit_log PRIMARY KEY (id)
);
CREATE TABLE blobs (
	"key" VARCHAR(64) NOT NULL, 
	size_bytes BIGINT NOT NULL, 
	content_type VARCHAR(100) NOT NULL, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_blobs PRIMARY KEY ("key")
);
CREATE TABLE brand_kits (
	account_id VARCHAR(40) NOT NULL, 
	logo_upload_id VARCHAR(40), 
	primary_color VARCHAR(7) NOT NULL, 
	accent_color VARCHAR(7) NOT NULL, 
	text_color VARCHAR(7) NOT NULL, 
	background_color VARCHAR(7) NOT NULL, 
	font VARCHAR(32) NOT NULL, 
	tagline VARCHAR(200), 
	cta VARCHAR(80), 
	updated_at DATETIME NOT NULL, 
	CONSTRAINT pk_brand_kits PRIMARY KEY (account_id), 
	CONSTRAINT fk_brand_kits_account_id_accounts FOREIGN KEY(account_id) REFERENCES accounts (id)
);
CREATE TABLE commerce_batch_items (
	id INTEGER NOT NULL, 
	batch_id VARCHAR(40) NOT NULL, 
	sku VARCHAR(64) NOT NULL, 
	aspect VARCHAR(8) NOT NULL, 
	template VARCHAR(32) NOT NULL, 
	title VARCHAR(300) NOT NULL, 
	product JSON NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	job_id VARCHAR(40), 
	error_code VARCHAR(64), 
	error_message TEXT, 
	credits INTEGER NOT NULL, 
	cost_usd FLOAT NOT NULL, 
	path VARCHAR(300), 
	updated_at DATETIME NOT NULL, 
	CONSTRAINT pk_commerce_batch_items PRIMARY KEY (id), 
	CONSTRAINT fk_commerce_batch_items_batch_id_commerce_batches FOREIGN KEY(batch_id) REFERENCES commerce_batches (id), 
	CONSTRAINT uq_commerce_batch_items_key UNIQUE (batch_id, sku, aspect)
);
CREATE TABLE commerce_batches (
	id VARCHAR(40) NOT NULL, 
	account_id VARCHAR(40) NOT NULL, 
	template VARCHAR(32) NOT NULL, 
	aspects JSON NOT NULL, 
	resolution VARCHAR(8) NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	catalog_name VARCHAR(200) NOT NULL, 
	products INTEGER NOT NULL, 
	rejected JSON NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	CONSTRAINT pk_commerce_batches PRIMARY KEY (id), 
	CONSTRAINT fk_commerce_batches_account_id_accounts FOREIGN KEY(account_id) REFERENCES accounts (id)
);
CREATE TABLE credit_lots (
	id VARCHAR(40) NOT NULL, 
	account_id VARCHAR(40) NOT NULL, 
	source VARCHAR(20) NOT NULL, 
	credits BIGINT NOT NULL, 
	unit_usd FLOAT NOT NULL, 
	expires_at DATETIME, 
	created_at DATETIME NOT NULL, 
	txn_id VARCHAR(40) NOT NULL, 
	closed_at DATETIME, 
	CONSTRAINT pk_credit_lots PRIMARY KEY (id), 
	CONSTRAINT fk_credit_lots_account_id_accounts FOREIGN KEY(account_id) REFERENCES accounts (id)
);
CREATE TABLE fleet_secrets (
	name VARCHAR(64) NOT NULL, 
	value TEXT NOT NULL, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_fleet_secrets PRIMARY KEY (name)
);
CREATE TABLE guard_models (
	name VARCHAR(100) NOT NULL, 
	family VARCHAR(20) NOT NULL, 
	path TEXT NOT NULL, 
	device VARCHAR(40) NOT NULL, 
	dtype VARCHAR(10) NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	CONSTRAINT pk_guard_models PRIMARY KEY (name)
);
CREATE TABLE job_events (
	id INTEGER NOT NULL, 
	job_id VARCHAR(40) NOT NULL, 
	seq INTEGER NOT NULL, 
	type VARCHAR(40) NOT NULL, 
	data JSON NOT NULL, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_job_events PRIMARY KEY (id), 
	CONSTRAINT fk_job_events_job_id_jobs FOREIGN KEY(job_id) REFERENCES jobs (id), 
	CONSTRAINT uq_job_events_job_id_seq UNIQUE (job_id, seq)
);
CREATE TABLE jobs (
	id VARCHAR(40) NOT NULL, 
	account_id VARCHAR(40) NOT NULL, 
	status VARCHAR(20) NOT NULL, 
	mode VARCHAR(20) NOT NULL, 
	model VARCHAR(100) NOT NULL, 
	queue VARCHAR(100) NOT NULL, 
	priority INTEGER NOT NULL, 
	spec JSON NOT NULL, 
	spec_hash VARCHAR(64) NOT NULL, 
	external_id VARCHAR(128), 
	inputs JSON NOT NULL, 
	attempt INTEGER NOT NULL, 
	max_attempts INTEGER NOT NULL, 
	worker_id VARCHAR(100), 
	heartbeat_at DATETIME, 
	cancel_requested BOOLEAN NOT NULL, 
	event_seq INTEGER NOT NULL, 
	progress FLOAT NOT NULL, 
	stage VARCHAR(40), 
	created_at DATETIME NOT NULL, 
	enqueued_at DATETIME, 
	started_at DATETIME, 
	finished_at DATETIME, 
	error_code VARCHAR(60), 
	error_message TEXT, 
	output_blob VARCHAR(64), 
	poster_blob VARCHAR(64), 
	output JSON, 
	timings JSON, 
	device VARCHAR(100), params JSON, compute JSON, moderation JSON, key_id VARCHAR(40), credits BIGINT DEFAULT '0' NOT NULL, billing VARCHAR(20) DEFAULT 'none' NOT NULL, credits_charged BIGINT DEFAULT '0' NOT NULL, cost_usd FLOAT, cache_key VARCHAR(64), cached_from VARCHAR(40), simulated BOOLEAN DEFAULT 0 NOT NULL, deleted_at DATETIME, expires_at DATETIME, purged_at DATETIME, output_damage VARCHAR(40), has_audio BOOLEAN, 
	CONSTRAINT pk_jobs PRIMARY KEY (id), 
	CONSTRAINT fk_jobs_account_id_accounts FOREIGN KEY(account_id) REFERENCES accounts (id), 
	CONSTRAINT fk_jobs_output_blob_blobs FOREIGN KEY(output_blob) REFERENCES blobs ("key"), 
	CONSTRAINT fk_jobs_poster_blob_blobs FOREIGN KEY(poster_blob) REFERENCES blobs ("key"), 
	CONSTRAINT uq_jobs_account_id_external_id UNIQUE (account_id, external_id)
);
CREATE TABLE ledger_entries (
	id INTEGER NOT NULL, 
	txn_id VARCHAR(40) NOT NULL, 
	account_id VARCHAR(40) NOT NULL, 
	book VARCHAR(20) NOT NULL, 
	lot_id VARCHAR(40), 
	job_id VARCHAR(40), 
	amount BIGINT NOT NULL, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_ledger_entries PRIMARY KEY (id), 
	CONSTRAINT fk_ledger_entries_txn_id_ledger_transactions FOREIGN KEY(txn_id) REFERENCES ledger_transactions (id)
);
CREATE TABLE ledger_transactions (
	id VARCHAR(40) NOT NULL, 
	idempotency_key VARCHAR(200) NOT NULL, 
	account_id VARCHAR(40) NOT NULL, 
	kind VARCHAR(20) NOT NULL, 
	credits BIGINT NOT NULL, 
	job_id VARCHAR(40), 
	key_id VARCHAR(40), 
	memo TEXT, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_ledger_transactions PRIMARY KEY (id), 
	CONSTRAINT fk_ledger_transactions_account_id_accounts FOREIGN KEY(account_id) REFERENCES accounts (id), 
	CONSTRAINT uq_ledger_transactions_idempotency_key UNIQUE (idempotency_key)
);
CREATE TABLE likeness_consents (
	id INTEGER NOT NULL, 
	person_id VARCHAR(40) NOT NULL, 
	grantee VARCHAR(40) NOT NULL, 
	granted_at DATETIME NOT NULL, 
	revoked_at DATETIME, 
	CONSTRAINT pk_likeness_consents PRIMARY KEY (id), 
	CONSTRAINT fk_likeness_consents_person_id_likeness_people FOREIGN KEY(person_id) REFERENCES likeness_people (id)
);
CREATE TABLE likeness_faces (
	id INTEGER NOT NULL, 
	person_id VARCHAR(40) NOT NULL, 
	embedding JSON NOT NULL, 
	photo_blob VARCHAR(64), 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_likeness_faces PRIMARY KEY (id), 
	CONSTRAINT fk_likeness_faces_person_id_likeness_people FOREIGN KEY(person_id) REFERENCES likeness_people (id), 
	CONSTRAINT fk_likeness_faces_photo_blob_blobs FOREIGN KEY(photo_blob) REFERENCES blobs ("key")
);
CREATE TABLE likeness_people (
	id VARCHAR(40) NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	public_figure BOOLEAN NOT NULL, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_likeness_people PRIMARY KEY (id)
);
CREATE TABLE login_failures (
	id INTEGER NOT NULL, 
	"key" VARCHAR(300) NOT NULL, 
	at DATETIME NOT NULL, 
	CONSTRAINT pk_login_failures PRIMARY KEY (id)
);
CREATE TABLE logins (
	id VARCHAR(40) NOT NULL, 
	account_id VARCHAR(40) NOT NULL, 
	email VARCHAR(254) NOT NULL, 
	password_hash VARCHAR(200) NOT NULL, 
	created_at DATETIME NOT NULL, 
	password_changed_at DATETIME NOT NULL, 
	CONSTRAINT pk_logins PRIMARY KEY (id), 
	CONSTRAINT fk_logins_account_id_accounts FOREIGN KEY(account_id) REFERENCES accounts (id), 
	CONSTRAINT uq_logins_account_id UNIQUE (account_id), 
	CONSTRAINT uq_logins_email UNIQUE (email)
);
CREATE TABLE models (
	name VARCHAR(100) NOT NULL, 
	family VARCHAR(20) NOT NULL, 
	task VARCHAR(10) NOT NULL, 
	path TEXT NOT NULL, 
	dtype VARCHAR(10) NOT NULL, 
	device VARCHAR(40) NOT NULL, 
	gpu_hourly_usd FLOAT, 
	options JSON NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	CONSTRAINT pk_models PRIMARY KEY (name)
);
CREATE TABLE payments (
	id VARCHAR(100) NOT NULL, 
	account_id VARCHAR(40) NOT NULL, 
	provider VARCHAR(20) NOT NULL, 
	kind VARCHAR(20) NOT NULL, 
	"plan" VARCHAR(40), 
	amount_cents BIGINT NOT NULL, 
	currency VARCHAR(3) NOT NULL, 
	credits BIGINT NOT NULL, 
	simulated BOOLEAN NOT NULL, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_payments PRIMARY KEY (id), 
	CONSTRAINT fk_payments_account_id_accounts FOREIGN KEY(account_id) REFERENCES accounts (id)
);
CREATE TABLE plan_changes (
	id INTEGER NOT NULL, 
	account_id VARCHAR(40) NOT NULL, 
	from_plan VARCHAR(40), 
	to_plan VARCHAR(40) NOT NULL, 
	source VARCHAR(20) NOT NULL, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_plan_changes PRIMARY KEY (id), 
	CONSTRAINT fk_plan_changes_account_id_accounts FOREIGN KEY(account_id) REFERENCES accounts (id)
);
CREATE TABLE provider_models (
	name VARCHAR(100) NOT NULL, 
	provider VARCHAR(20) NOT NULL, 
	remote_model VARCHAR(200) NOT NULL, 
	prices JSON, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	CONSTRAINT pk_provider_models PRIMARY KEY (name)
);
CREATE TABLE provider_tasks (
	job_id VARCHAR(40) NOT NULL, 
	provider VARCHAR(20) NOT NULL, 
	remote_model VARCHAR(200) NOT NULL, 
	task_id VARCHAR(200), 
	state VARCHAR(20) NOT NULL, 
	attempt INTEGER NOT NULL, 
	creates INTEGER NOT NULL, 
	polls INTEGER NOT NULL, 
	detail TEXT, 
	cost_usd FLOAT, 
	callback_at DATETIME, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	CONSTRAINT pk_provider_tasks PRIMARY KEY (job_id), 
	CONSTRAINT fk_provider_tasks_job_id_jobs FOREIGN KEY(job_id) REFERENCES jobs (id)
);
CREATE TABLE reviews (
	id VARCHAR(40) NOT NULL, 
	job_id VARCHAR(40) NOT NULL, 
	account_id VARCHAR(40) NOT NULL, 
	kind VARCHAR(20) NOT NULL, 
	stage VARCHAR(20) NOT NULL, 
	status VARCHAR(20) NOT NULL, 
	categories JSON NOT NULL, 
	message TEXT, 
	created_at DATETIME NOT NULL, 
	decided_at DATETIME, 
	reviewer VARCHAR(200), 
	note TEXT, 
	CONSTRAINT pk_reviews PRIMARY KEY (id), 
	CONSTRAINT fk_reviews_account_id_accounts FOREIGN KEY(account_id) REFERENCES accounts (id), 
	CONSTRAINT fk_reviews_job_id_jobs FOREIGN KEY(job_id) REFERENCES jobs (id)
);
CREATE TABLE stripe_events (
	id VARCHAR(100) NOT NULL, 
	type VARCHAR(60) NOT NULL, 
	account_id VARCHAR(40), 
	result VARCHAR(200) NOT NULL, 
	received_at DATETIME NOT NULL, 
	CONSTRAINT pk_stripe_events PRIMARY KEY (id)
);
CREATE TABLE uploads (
	id VARCHAR(40) NOT NULL, 
	account_id VARCHAR(40) NOT NULL, 
	blob_key VARCHAR(64) NOT NULL, 
	filename VARCHAR(255), 
	content_type VARCHAR(100) NOT NULL, 
	size_bytes BIGINT NOT NULL, 
	width INTEGER NOT NULL, 
	height INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, deleted_at DATETIME, 
	CONSTRAINT pk_uploads PRIMARY KEY (id), 
	CONSTRAINT fk_uploads_account_id_accounts FOREIGN KEY(account_id) REFERENCES accounts (id), 
	CONSTRAINT fk_uploads_blob_key_blobs FOREIGN KEY(blob_key) REFERENCES blobs ("key")
);
CREATE TABLE usage_events (
	id INTEGER NOT NULL, 
	idempotency_key VARCHAR(200) NOT NULL, 
	account_id VARCHAR(40) NOT NULL, 
	job_id VARCHAR(40), 
	kind VARCHAR(20) NOT NULL, 
	quantity FLOAT NOT NULL, 
	unit VARCHAR(20) NOT NULL, 
	rate_usd FLOAT NOT NULL, 
	cost_usd FLOAT NOT NULL, 
	outcome VARCHAR(20), 
	device VARCHAR(100), 
	model VARCHAR(100), 
	"plan" VARCHAR(40), 
	resolution VARCHAR(10), 
	preset VARCHAR(10), 
	output_seconds FLOAT, 
	segment VARCHAR(20), 
	simulated BOOLEAN NOT NULL, 
	data JSON, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_usage_events PRIMARY KEY (id), 
	CONSTRAINT fk_usage_events_account_id_accounts FOREIGN KEY(account_id) REFERENCES accounts (id), 
	CONSTRAINT uq_usage_events_idempotency_key UNIQUE (idempotency_key)
);
CREATE TABLE web_sessions (
	id VARCHAR(64) NOT NULL, 
	login_id VARCHAR(40) NOT NULL, 
	created_at DATETIME NOT NULL, 
	last_seen_at DATETIME NOT NULL, 
	expires_at DATETIME NOT NULL, 
	CONSTRAINT pk_web_sessions PRIMARY KEY (id), 
	CONSTRAINT fk_web_sessions_login_id_logins FOREIGN KEY(login_id) REFERENCES logins (id)
);
CREATE TABLE webhook_attempts (
	id INTEGER NOT NULL, 
	delivery_id VARCHAR(40) NOT NULL, 
	attempt INTEGER NOT NULL, 
	status_code INTEGER, 
	error TEXT, 
	duration_ms FLOAT NOT NULL, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_webhook_attempts PRIMARY KEY (id), 
	CONSTRAINT fk_webhook_attempts_delivery_id_webhook_deliveries FOREIGN KEY(delivery_id) REFERENCES webhook_deliveries (id)
);
CREATE TABLE webhook_deliveries (
	id VARCHAR(40) NOT NULL, 
	job_id VARCHAR(40) NOT NULL, 
	account_id VARCHAR(40) NOT NULL, 
	url VARCHAR(2048) NOT NULL, 
	event VARCHAR(40) NOT NULL, 
	payload TEXT NOT NULL, 
	status VARCHAR(20) NOT NULL, 
	attempts INTEGER NOT NULL, 
	next_attempt_at DATETIME, 
	locked_until DATETIME, 
	created_at DATETIME NOT NULL, 
	finished_at DATETIME, 
	CONSTRAINT pk_webhook_deliveries PRIMARY KEY (id), 
	CONSTRAINT fk_webhook_deliveries_account_id_accounts FOREIGN KEY(account_id) REFERENCES accounts (id), 
	CONSTRAINT fk_webhook_deliveries_job_id_jobs FOREIGN KEY(job_id) REFERENCES jobs (id)
);
CREATE TABLE workers (
	id VARCHAR(200) NOT NULL, 
	host VARCHAR(255) NOT NULL, 
	pid INTEGER NOT NULL, 
	version VARCHAR(40) NOT NULL, 
	queues JSON NOT NULL, 
	models JSON NOT NULL, 
	device VARCHAR(100) NOT NULL, 
	slots INTEGER NOT NULL, 
	busy INTEGER NOT NULL, 
	started_at DATETIME NOT NULL, 
	heartbeat_at DATETIME NOT NULL, 
	stopped_at DATETIME, 
	CONSTRAINT pk_workers PRIMARY KEY (id)
);
CREATE INDEX ix_api_keys_account_id ON api_keys (account_id);
CREATE INDEX ix_jobs_account_id_id ON jobs (account_id, id);
CREATE INDEX ix_jobs_status_enqueued_at ON jobs (status, enqueued_at);
CREATE INDEX ix_jobs_status_heartbeat_at ON jobs (status, heartbeat_at);
CREATE INDEX ix_uploads_account_id ON uploads (account_id);
CREATE INDEX ix_webhook_deliveries_job_id ON webhook_deliveries (job_id);
CREATE INDEX ix_webhook_deliveries_status_next_attempt_at ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX ix_webhook_attempts_delivery_id ON webhook_attempts (delivery_id);
CREATE INDEX ix_audit_log_created_at ON audit_log (created_at);
CREATE INDEX ix_audit_log_subject ON audit_log (subject);
CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE INDEX ix_likeness_faces_person_id ON likeness_faces (person_id);
CREATE INDEX ix_likeness_consents_person_id ON likeness_consents (person_id);
CREATE INDEX ix_reviews_job_id ON reviews (job_id);
CREATE INDEX ix_reviews_status_created_at ON reviews (status, created_at);
CREATE INDEX ix_credit_lots_account_id_expires_at ON credit_lots (account_id, expires_at);
CREATE INDEX ix_ledger_transactions_account_id_created_at ON ledger_transactions (account_id, created_at);
CREATE INDEX ix_ledger_transactions_job_id ON ledger_transactions (job_id);
CREATE INDEX ix_payments_account_id_created_at ON payments (account_id, created_at);
CREATE INDEX ix_plan_changes_account_id_created_at ON plan_changes (account_id, created_at);
CREATE INDEX ix_usage_events_account_id_created_at ON usage_events (account_id, created_at);
CREATE INDEX ix_usage_events_created_at ON usage_events (created_at);
CREATE INDEX ix_usage_events_job_id ON usage_events (job_id);
CREATE INDEX ix_ledger_entries_account_id_book ON ledger_entries (account_id, book);
CREATE INDEX ix_ledger_entries_lot_id ON ledger_entries (lot_id);
CREATE INDEX ix_ledger_entries_job_id ON ledger_entries (job_id);
CREATE INDEX ix_ledger_entries_txn_id ON ledger_entries (txn_id);
CREATE INDEX ix_accounts_stripe_customer_id ON accounts (stripe_customer_id);
CREATE INDEX ix_jobs_account_id_status ON jobs (account_id, status);
CREATE INDEX ix_jobs_cache_key ON jobs (cache_key);
CREATE TRIGGER ledger_transactions_no_update BEFORE UPDATE ON ledger_transactions
                    BEGIN SELECT RAISE(ABORT, 'ledger_transactions is append-only'); END;
CREATE TRIGGER ledger_transactions_no_delete BEFORE DELETE ON ledger_transactions
                    BEGIN SELECT RAISE(ABORT, 'ledger_transactions is append-only'); END;
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
                    BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only'); END;
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
                    BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only'); END;
CREATE INDEX ix_jobs_expires_at ON jobs (expires_at);
CREATE INDEX ix_uploads_account_id_blob_key ON uploads (account_id, blob_key);
CREATE INDEX ix_workers_heartbeat_at ON workers (heartbeat_at);
CREATE INDEX ix_jobs_finished_at ON jobs (finished_at);
CREATE INDEX ix_webhook_deliveries_finished_at ON webhook_deliveries (finished_at);
CREATE INDEX ix_web_sessions_login_id ON web_sessions (login_id);
CREATE INDEX ix_login_failures_key_at ON login_failures ("key", at);
CREATE INDEX ix_provider_tasks_provider_state ON provider_tasks (provider, state);
CREATE INDEX ix_commerce_batches_account_id ON commerce_batches (account_id);
CREATE INDEX ix_commerce_batch_items_job_id ON commerce_batch_items (job_id);
COMMIT;
