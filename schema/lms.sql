--
-- schema/lms.sql: the subset of the K-12 platform's PostgreSQL schema that k12ctl reads and writes.
--
-- The platform (a Rails 8 app) owns these tables in production; k12ctl only writes into them
-- (`provision school`, `import csv`, the `backup_records` mirror). This file is the schema the CLI
-- expects, for the demo, the integration tests and anyone trying the tool. Load it once into an
-- empty database:
--
--     psql -v ON_ERROR_STOP=1 -d k12_demo -f schema/lms.sql
--     psql -v ON_ERROR_STOP=1 -d k12_demo -f schema/sample-data.sql   # optional sample rows
--     psql -d k12_demo -f scripts/check-counters.sql                   # zero rows = counters exact
--
-- Rails conventions, as the platform's own migrations produce them:
--   * `id bigserial` primary keys (a bigint column plus an owned sequence, like Rails' bigint ids);
--   * `created_at` / `updated_at timestamp(6) without time zone NOT NULL` and NO database default:
--     Rails fills them in, so every INSERT from k12ctl must set both (in UTC: Rails stores UTC in
--     zone-less timestamps, so write `now() AT TIME ZONE 'UTC'` or run the session with
--     `SET TIME ZONE 'UTC'`), and every UPDATE must bump `updated_at`;
--   * foreign keys `<name>_id bigint` with an index each, named `index_<table>_on_<columns>`;
--   * Rails strings are `character varying` without a length limit.
-- CHECK constraints mirror the platform's model validations where they are cheap to state
-- (role names, enrollment roles, backup statuses, ...): a Rails callback never runs for writes
-- made by k12ctl, so the database is where a wrong value must be stopped. (They are written
-- `col::text IN (...)` so that `pg_dump -s` prints them identically before and after a restore.)
--
-- Counter caches are part of correctness: the platform reads `tenants.schools_count`,
-- `tenants.courses_count` and `sections.enrollments_count` instead of counting (and
-- `courses.discussions_count` / `courses.quizzes_count`, whose child tables are outside this
-- subset and stay 0 here). Every write k12ctl makes must keep them exact, in the same
-- transaction; scripts/check-counters.sql returns one row per counter that is wrong.
--
-- Sources: seed 003 (backup_records, verbatim), seed 004 (ai_provider_configs migration 1 and the
-- ai_task_policies column list), seeds 000/002 (counter caches, tenant provisioning, data import),
-- and issue 4 (the schema the CLI expects).
--

SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SET client_min_messages = warning;

BEGIN;

-- Rails bookkeeping -------------------------------------------------------------------------------

CREATE TABLE public.schema_migrations (
    version character varying NOT NULL,
    CONSTRAINT schema_migrations_pkey PRIMARY KEY (version)
);

CREATE TABLE public.ar_internal_metadata (
    key character varying NOT NULL,
    value character varying,
    created_at timestamp(6) without time zone NOT NULL,
    updated_at timestamp(6) without time zone NOT NULL,
    CONSTRAINT ar_internal_metadata_pkey PRIMARY KEY (key)
);

-- Tenants and schools -----------------------------------------------------------------------------

-- One tenant per provisioned school district / school; `slug` is the subdomain.
CREATE TABLE public.tenants (
    id bigserial PRIMARY KEY,
    name character varying NOT NULL,
    slug character varying NOT NULL,
    district character varying,
    timezone character varying DEFAULT 'America/New_York' NOT NULL,
    settings jsonb DEFAULT '{}'::jsonb NOT NULL,
    schools_count integer DEFAULT 0 NOT NULL,   -- counter cache: count(schools)
    courses_count integer DEFAULT 0 NOT NULL,   -- counter cache: count(courses)
    created_at timestamp(6) without time zone NOT NULL,
    updated_at timestamp(6) without time zone NOT NULL,
    -- Tenant validates slug format /\A[a-z0-9-]+\z/; a subdomain label is at most 63 bytes.
    CONSTRAINT tenants_slug_format CHECK (slug ~ '^[a-z0-9-]+$' AND length(slug) <= 63),
    CONSTRAINT tenants_settings_is_object CHECK (jsonb_typeof(settings) = 'object'),
    CONSTRAINT tenants_counters_not_negative CHECK (schools_count >= 0 AND courses_count >= 0)
);
CREATE UNIQUE INDEX index_tenants_on_slug ON public.tenants USING btree (slug);

CREATE TABLE public.schools (
    id bigserial PRIMARY KEY,
    tenant_id bigint NOT NULL REFERENCES public.tenants (id),
    name character varying NOT NULL,
    address text,
    timezone character varying,
    created_at timestamp(6) without time zone NOT NULL,
    updated_at timestamp(6) without time zone NOT NULL
);
CREATE INDEX index_schools_on_tenant_id ON public.schools USING btree (tenant_id);

-- Users, roles, permissions -----------------------------------------------------------------------

-- Email uniqueness is per tenant on the column itself, (tenant_id, email), as in the platform
-- (`validates :email, uniqueness: { scope: :tenant_id }`, index_users_on_tenant_id_and_email).
-- Case-insensitivity is obtained by storing emails lower-cased (CHECK below) rather than by an
-- expression index, so an upsert can target it plainly: ON CONFLICT (tenant_id, email).
-- k12ctl must lower-case (and trim) emails before writing or comparing them.
CREATE TABLE public.users (
    id bigserial PRIMARY KEY,
    tenant_id bigint NOT NULL REFERENCES public.tenants (id),
    email character varying NOT NULL,
    first_name character varying,
    last_name character varying,
    preferences jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp(6) without time zone NOT NULL,
    updated_at timestamp(6) without time zone NOT NULL,
    CONSTRAINT users_email_lowercase CHECK (email = lower(email)),
    CONSTRAINT users_email_format CHECK (email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    CONSTRAINT users_preferences_is_object CHECK (jsonb_typeof(preferences) = 'object')
);
CREATE UNIQUE INDEX index_users_on_tenant_id_and_email ON public.users USING btree (tenant_id, email);
CREATE INDEX index_users_on_tenant_id ON public.users USING btree (tenant_id);

-- Role::VALID_ROLES; TenantProvisioningService creates all five per tenant.
CREATE TABLE public.roles (
    id bigserial PRIMARY KEY,
    tenant_id bigint NOT NULL REFERENCES public.tenants (id),
    name character varying NOT NULL,
    created_at timestamp(6) without time zone NOT NULL,
    updated_at timestamp(6) without time zone NOT NULL,
    CONSTRAINT roles_name_valid
        CHECK (name::text IN ('admin', 'curriculum_lead', 'teacher', 'student', 'guardian'))
);
CREATE UNIQUE INDEX index_roles_on_tenant_id_and_name ON public.roles USING btree (tenant_id, name);
CREATE INDEX index_roles_on_tenant_id ON public.roles USING btree (tenant_id);

-- tenant_id is denormalised here as on every tenant-scoped platform table (TenantScoped / RLS).
CREATE TABLE public.user_roles (
    id bigserial PRIMARY KEY,
    tenant_id bigint NOT NULL REFERENCES public.tenants (id),
    user_id bigint NOT NULL REFERENCES public.users (id),
    role_id bigint NOT NULL REFERENCES public.roles (id),
    created_at timestamp(6) without time zone NOT NULL,
    updated_at timestamp(6) without time zone NOT NULL
);
CREATE UNIQUE INDEX index_user_roles_on_user_id_and_role_id ON public.user_roles USING btree (user_id, role_id);
CREATE INDEX index_user_roles_on_role_id ON public.user_roles USING btree (role_id);
CREATE INDEX index_user_roles_on_tenant_id ON public.user_roles USING btree (tenant_id);

-- A permission row only grants when `granted` is true (Permission.granted_for); the column
-- defaults to false, so writers must set it explicitly. Uniqueness is the platform's
-- idx_permissions_unique (tenant_id, role_id, resource, action).
CREATE TABLE public.permissions (
    id bigserial PRIMARY KEY,
    tenant_id bigint NOT NULL REFERENCES public.tenants (id),
    role_id bigint NOT NULL REFERENCES public.roles (id),
    resource character varying NOT NULL,
    action character varying NOT NULL,
    granted boolean DEFAULT false NOT NULL,
    created_at timestamp(6) without time zone NOT NULL,
    updated_at timestamp(6) without time zone NOT NULL,
    -- Permission::VALID_ACTIONS (resources are a long, growing list: validated by the app only).
    CONSTRAINT permissions_action_valid
        CHECK (action::text IN ('read', 'create', 'update', 'delete', 'publish', 'approve', 'manage'))
);
CREATE UNIQUE INDEX idx_permissions_unique ON public.permissions USING btree (tenant_id, role_id, resource, action);
CREATE INDEX index_permissions_on_role_id ON public.permissions USING btree (role_id);
CREATE INDEX index_permissions_on_tenant_id ON public.permissions USING btree (tenant_id);

-- Academic structure ------------------------------------------------------------------------------

CREATE TABLE public.academic_years (
    id bigserial PRIMARY KEY,
    tenant_id bigint NOT NULL REFERENCES public.tenants (id),
    name character varying NOT NULL,
    start_date date NOT NULL,
    end_date date NOT NULL,
    current boolean DEFAULT false NOT NULL,
    created_at timestamp(6) without time zone NOT NULL,
    updated_at timestamp(6) without time zone NOT NULL,
    -- DateRangeValidatable
    CONSTRAINT academic_years_date_range CHECK (end_date > start_date)
);
-- At most one current academic year per tenant. Upsert target, if ever needed:
--     ON CONFLICT (tenant_id) WHERE current
CREATE UNIQUE INDEX index_academic_years_on_tenant_id_current
    ON public.academic_years USING btree (tenant_id) WHERE current;
-- Years are referred to by name (the optional `academic_year` column of a courses CSV).
CREATE UNIQUE INDEX index_academic_years_on_tenant_id_and_name ON public.academic_years USING btree (tenant_id, name);
CREATE INDEX index_academic_years_on_tenant_id ON public.academic_years USING btree (tenant_id);

CREATE TABLE public.courses (
    id bigserial PRIMARY KEY,
    tenant_id bigint NOT NULL REFERENCES public.tenants (id),
    academic_year_id bigint NOT NULL REFERENCES public.academic_years (id),
    school_id bigint REFERENCES public.schools (id),
    code character varying NOT NULL,
    name character varying NOT NULL,
    description text,
    settings jsonb DEFAULT '{}'::jsonb NOT NULL,
    discussions_count integer DEFAULT 0 NOT NULL,   -- counter cache: count(discussions), 0 here
    quizzes_count integer DEFAULT 0 NOT NULL,       -- counter cache: count(quizzes), 0 here
    created_at timestamp(6) without time zone NOT NULL,
    updated_at timestamp(6) without time zone NOT NULL,
    CONSTRAINT courses_settings_is_object CHECK (jsonb_typeof(settings) = 'object'),
    CONSTRAINT courses_counters_not_negative CHECK (discussions_count >= 0 AND quizzes_count >= 0)
);
CREATE UNIQUE INDEX index_courses_on_tenant_id_and_academic_year_id_and_code
    ON public.courses USING btree (tenant_id, academic_year_id, code);
CREATE INDEX index_courses_on_academic_year_id ON public.courses USING btree (academic_year_id);
CREATE INDEX index_courses_on_school_id ON public.courses USING btree (school_id);
CREATE INDEX index_courses_on_tenant_id ON public.courses USING btree (tenant_id);

-- Section codes are unique per tenant (across academic years): an enrollments CSV names a section
-- by its code alone.
CREATE TABLE public.sections (
    id bigserial PRIMARY KEY,
    tenant_id bigint NOT NULL REFERENCES public.tenants (id),
    course_id bigint NOT NULL REFERENCES public.courses (id),
    code character varying NOT NULL,
    name character varying NOT NULL,
    enrollments_count integer DEFAULT 0 NOT NULL,   -- counter cache: count(enrollments)
    created_at timestamp(6) without time zone NOT NULL,
    updated_at timestamp(6) without time zone NOT NULL,
    CONSTRAINT sections_enrollments_count_not_negative CHECK (enrollments_count >= 0)
);
CREATE UNIQUE INDEX index_sections_on_tenant_id_and_code ON public.sections USING btree (tenant_id, code);
CREATE INDEX index_sections_on_course_id ON public.sections USING btree (course_id);
CREATE INDEX index_sections_on_tenant_id ON public.sections USING btree (tenant_id);

-- Enrollment::VALID_ROLES is exactly %w[teacher student]; a user is enrolled at most once per
-- section (index_enrollments_on_user_id_and_section_id).
CREATE TABLE public.enrollments (
    id bigserial PRIMARY KEY,
    tenant_id bigint NOT NULL REFERENCES public.tenants (id),
    user_id bigint NOT NULL REFERENCES public.users (id),
    section_id bigint NOT NULL REFERENCES public.sections (id),
    role character varying NOT NULL,
    created_at timestamp(6) without time zone NOT NULL,
    updated_at timestamp(6) without time zone NOT NULL,
    CONSTRAINT enrollments_role_valid CHECK (role::text IN ('teacher', 'student'))
);
CREATE UNIQUE INDEX index_enrollments_on_user_id_and_section_id ON public.enrollments USING btree (user_id, section_id);
CREATE INDEX index_enrollments_on_section_id ON public.enrollments USING btree (section_id);
CREATE INDEX index_enrollments_on_tenant_id ON public.enrollments USING btree (tenant_id);

-- AI policies -------------------------------------------------------------------------------------

-- Seed 004, migration 1 (20260216000001_create_ai_provider_configs_migration.rb), column for column.
CREATE TABLE public.ai_provider_configs (
    id bigserial PRIMARY KEY,
    tenant_id bigint NOT NULL REFERENCES public.tenants (id),
    created_by_id bigint NOT NULL REFERENCES public.users (id),
    provider_name character varying NOT NULL,
    display_name character varying NOT NULL,
    default_model character varying NOT NULL,
    api_key character varying,
    status character varying DEFAULT 'inactive' NOT NULL,
    available_models jsonb DEFAULT '[]'::jsonb,
    settings jsonb DEFAULT '{}'::jsonb,
    created_at timestamp(6) without time zone NOT NULL,
    updated_at timestamp(6) without time zone NOT NULL
);
CREATE UNIQUE INDEX index_ai_provider_configs_on_tenant_id_and_provider_name
    ON public.ai_provider_configs USING btree (tenant_id, provider_name);
CREATE INDEX index_ai_provider_configs_on_created_by_id ON public.ai_provider_configs USING btree (created_by_id);
CREATE INDEX index_ai_provider_configs_on_tenant_id ON public.ai_provider_configs USING btree (tenant_id);

-- Seed 004, migration 2: the column list of the seed; nullability and defaults as in the
-- platform's schema.rb, except ai_provider_config_id, nullable here (a policy may exist before a
-- provider is configured). NOTE allowed_roles = [] means "every role" (allowed_for_role? returns
-- true for a blank list): to keep a role out, list the others explicitly.
CREATE TABLE public.ai_task_policies (
    id bigserial PRIMARY KEY,
    tenant_id bigint NOT NULL REFERENCES public.tenants (id),
    created_by_id bigint NOT NULL REFERENCES public.users (id),
    ai_provider_config_id bigint REFERENCES public.ai_provider_configs (id),
    task_type character varying NOT NULL,
    enabled boolean DEFAULT true NOT NULL,
    requires_approval boolean DEFAULT false NOT NULL,
    allowed_roles jsonb DEFAULT '[]'::jsonb NOT NULL,
    model_override character varying,
    temperature_limit numeric DEFAULT 1.0,
    max_tokens_limit integer DEFAULT 4096,
    settings jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp(6) without time zone NOT NULL,
    updated_at timestamp(6) without time zone NOT NULL,
    -- AiTaskPolicy::VALID_TASK_TYPES
    CONSTRAINT ai_task_policies_task_type_valid CHECK (task_type::text IN (
        'lesson_plan', 'unit_plan', 'differentiation', 'assessment', 'rewrite',
        'ib_report_summary', 'ib_family_language', 'ib_reflection_summary', 'ib_evidence_gap',
        'ib_inquiry_language', 'ib_translation_support', 'ib_proofing')),
    CONSTRAINT ai_task_policies_temperature_limit_range
        CHECK (temperature_limit IS NULL OR (temperature_limit >= 0 AND temperature_limit <= 2)),
    CONSTRAINT ai_task_policies_max_tokens_limit_positive
        CHECK (max_tokens_limit IS NULL OR max_tokens_limit > 0),
    -- allowed_roles is a JSON array of role names (Role::VALID_ROLES).
    CONSTRAINT ai_task_policies_allowed_roles_valid CHECK (
        jsonb_typeof(allowed_roles) = 'array'
        AND allowed_roles <@ '["admin", "curriculum_lead", "teacher", "student", "guardian"]'::jsonb),
    CONSTRAINT ai_task_policies_settings_is_object CHECK (jsonb_typeof(settings) = 'object')
);
CREATE UNIQUE INDEX index_ai_task_policies_on_tenant_id_and_task_type
    ON public.ai_task_policies USING btree (tenant_id, task_type);
CREATE INDEX index_ai_task_policies_on_ai_provider_config_id ON public.ai_task_policies USING btree (ai_provider_config_id);
CREATE INDEX index_ai_task_policies_on_created_by_id ON public.ai_task_policies USING btree (created_by_id);
CREATE INDEX index_ai_task_policies_on_tenant_id ON public.ai_task_policies USING btree (tenant_id);

-- Backups -----------------------------------------------------------------------------------------

-- Seed 003's CreateBackupRecords migration, verbatim: NOT tenant-scoped (system-level records).
-- metadata and verification_result are nullable with a '{}' default, as the migration declares them.
CREATE TABLE public.backup_records (
    id bigserial PRIMARY KEY,
    backup_type character varying DEFAULT 'full' NOT NULL,
    status character varying DEFAULT 'in_progress' NOT NULL,
    s3_key character varying NOT NULL,
    s3_bucket character varying NOT NULL,
    size_bytes bigint,
    duration_seconds integer,
    metadata jsonb DEFAULT '{}'::jsonb,
    error_message character varying,
    verified_at timestamp(6) without time zone,
    verification_result jsonb DEFAULT '{}'::jsonb,
    created_at timestamp(6) without time zone NOT NULL,
    updated_at timestamp(6) without time zone NOT NULL,
    -- BackupRecord::VALID_TYPES / VALID_STATUSES
    CONSTRAINT backup_records_backup_type_valid CHECK (backup_type::text IN ('full', 'incremental')),
    CONSTRAINT backup_records_status_valid
        CHECK (status::text IN ('in_progress', 'completed', 'failed', 'verified', 'verification_failed'))
);
CREATE INDEX index_backup_records_on_status ON public.backup_records USING btree (status);
CREATE INDEX index_backup_records_on_created_at ON public.backup_records USING btree (created_at);
CREATE INDEX index_backup_records_on_backup_type_and_status ON public.backup_records USING btree (backup_type, status);

-- Rails bookkeeping rows --------------------------------------------------------------------------

-- The migrations the seeds name (a real platform database lists every migration it ran).
INSERT INTO public.schema_migrations (version) VALUES
    ('20260215140000'),   -- latest migration before Batch 7 (seed 004)
    ('20260216000001'),   -- create_ai_provider_configs_migration
    ('20260216000002'),   -- create_ai_task_policies_migration
    ('20260216000003'),
    ('20260216000004'),
    ('20260216000005'),
    ('20260216000006'),
    ('20260216000007'),
    ('20260217000004');   -- add_counter_caches

INSERT INTO public.ar_internal_metadata (key, value, created_at, updated_at) VALUES
    ('environment', 'development', '2026-02-17 00:00:00', '2026-02-17 00:00:00');

COMMIT;
