--
-- schema/sample-data.sql: a small, deterministic LMS dataset for schema/lms.sql.
--
--     psql -v ON_ERROR_STOP=1 -d k12_demo -f schema/lms.sql
--     psql -v ON_ERROR_STOP=1 -d k12_demo -f schema/sample-data.sql
--
-- Three districts (tenants) set up the way TenantProvisioningService does it (school(s), the five
-- roles with the default permissions, an admin, a current academic year, an AI provider and the
-- default AI task policies), then a roster: ~1,500 users (teachers, students, guardians),
-- 60 courses, 120 sections, ~4,000 enrollments, and a few historical backup_records.
--
-- Deterministic: no random(), no now(); every value is arithmetic on generate_series indexes and
-- every timestamp derives from fixed dates, so two loads produce identical rows, ids included
-- (in a fresh database). All names are invented; every email is at an example.org domain.
--
-- Some values are awkward on purpose, because backups must round-trip them byte for byte:
-- apostrophes (O'Brien, D'Angelo), accents and non-Latin scripts (Zoë, Nguyễn, 中文), emoji
-- (Robotics & Coding 🤖), commas, double quotes, tabs and newlines inside text and jsonb values.
--
-- The counter caches (tenants.schools_count, tenants.courses_count, sections.enrollments_count)
-- are recomputed from real counts at the end; scripts/check-counters.sql must return no rows.
--

SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SET client_min_messages = warning;

BEGIN;

-- Plan: one row per tenant -------------------------------------------------------------------------

CREATE TEMP TABLE sample_plan (
    ord integer PRIMARY KEY,
    slug text NOT NULL,
    name text NOT NULL,
    district text NOT NULL,
    timezone text NOT NULL,
    domain text NOT NULL,
    admin_first text NOT NULL,
    admin_last text NOT NULL,
    admin_email text NOT NULL,
    leads integer NOT NULL,          -- curriculum leads
    teachers integer NOT NULL,
    students integer NOT NULL,       -- must be coprime with 7 (see enrollments)
    guardians integer NOT NULL,
    current_courses integer NOT NULL,
    past_courses integer NOT NULL,
    created_at timestamp NOT NULL
) ON COMMIT DROP;

INSERT INTO sample_plan VALUES
    (1, 'maplewood', 'Maplewood Unified School District', 'Maplewood Unified', 'America/New_York',
        'maplewood.example.org', 'Patricia', 'O''Malley', 'patricia.omalley@maplewood.example.org',
        2, 45, 450, 202, 24, 4, '2025-06-02 13:00:00'),
    (2, 'riverbend-isd', 'Riverbend Independent School District', 'Riverbend ISD', 'America/Chicago',
        'riverbend-isd.example.org', 'Marcus', 'Delacroix', 'it-admin@riverbend-isd.example.org',
        2, 32, 320, 145, 20, 0, '2025-06-09 14:30:00'),
    (3, 'sierra-vista', 'Sierra Vista Charter Schools', 'Sierra Vista Charter Network', 'America/Denver',
        'sierravista.example.org', 'Zoë', 'Nakamura-Ruiz', 'zoe.nakamura-ruiz@sierravista.example.org',
        1, 20, 190, 88, 12, 0, '2025-06-16 15:45:00');

-- Tenants -------------------------------------------------------------------------------------------

INSERT INTO public.tenants (name, slug, district, timezone, settings, created_at, updated_at)
SELECT p.name, p.slug, p.district, p.timezone,
       jsonb_build_object(
           'branding', jsonb_build_object(
               'school_name', p.name,
               'primary_color', (ARRAY['#1e40af', '#047857', '#b45309'])[p.ord],
               'logo_url', NULL),
           'features', jsonb_build_object(
               'ai_enabled', true,
               'google_integration', p.ord <> 2,
               'portfolio_enabled', true,
               'guardian_portal_enabled', true),
           'ai_safety_level', (ARRAY['strict', 'strict', 'moderate'])[p.ord],
           'welcome_message', (ARRAY[
               E'Welcome, Maplewood families!\nThe first day of school is Tuesday, September 2.',
               E'Welcome back, Riverbend!\nBuses run on the "late start" schedule on Wednesdays.',
               E'¡Bienvenidos! Welcome to Sierra Vista,\nwhere every learner''s path is their own. 🌵'])[p.ord],
           'contact', jsonb_build_object(
               'phone', '+1-555-01' || lpad((p.ord * 7)::text, 2, '0'),
               'address', E'100 District Way, Suite ' || p.ord || E'\nAnytown, ZZ 00000')),
       p.created_at, p.created_at
FROM sample_plan p
ORDER BY p.ord;

CREATE TEMP TABLE sample_tenants ON COMMIT DROP AS
SELECT p.*, t.id AS tenant_id
FROM sample_plan p JOIN public.tenants t ON t.slug = p.slug;

-- Schools -------------------------------------------------------------------------------------------

INSERT INTO public.schools (tenant_id, name, address, timezone, created_at, updated_at)
SELECT st.tenant_id, s.name, s.address, st.timezone,
       st.created_at + s.ord * interval '1 minute', st.created_at + s.ord * interval '1 minute'
FROM (VALUES
    ('maplewood', 1, 'Maplewood High School', E'1200 Elm Street\nMaplewood, NJ 07040'),
    ('maplewood', 2, 'O''Brien Middle School', E'45 Orchard Lane, Building B\nMaplewood, NJ 07040'),
    ('maplewood', 3, 'Zoë Baldwin Elementary', E'7 Schoolhouse Road\nMaplewood, NJ 07040'),
    ('maplewood', 4, 'Lakeside Elementary', NULL),
    ('riverbend-isd', 1, 'Riverbend High School', E'2200 River Road, Riverbend, TX 75001'),
    ('riverbend-isd', 2, 'Riverbend Middle School', E'2250 River Road\nRiverbend, TX 75001'),
    ('riverbend-isd', 3, 'Núñez-García Elementary', E'18 Calle "Los Álamos"\nRiverbend, TX 75002'),
    ('sierra-vista', 1, 'Sierra Vista Academy', E'9 Mesa Drive\nSierra Vista, AZ 85635'),
    ('sierra-vista', 2, 'Desert Bloom Middle School — STEM Campus', E'Unit 4, 310 Saguaro Blvd.\tRear entrance\nSierra Vista, AZ 85650')
) AS s(slug, ord, name, address)
JOIN sample_tenants st ON st.slug = s.slug
ORDER BY st.ord, s.ord;

-- Roles and permissions (TenantProvisioningService::DEFAULT_ROLES / DEFAULT_PERMISSIONS) --------------

INSERT INTO public.roles (tenant_id, name, created_at, updated_at)
SELECT st.tenant_id, r.name, st.created_at + interval '5 minutes', st.created_at + interval '5 minutes'
FROM sample_tenants st
CROSS JOIN (VALUES (1, 'admin'), (2, 'teacher'), (3, 'student'), (4, 'curriculum_lead'), (5, 'guardian'))
    AS r(ord, name)
ORDER BY st.ord, r.ord;

WITH valid_resources(resource) AS (
    -- Permission::VALID_RESOURCES: what the admin's "all" expands to.
    SELECT unnest(ARRAY[
        'academic_years', 'announcements', 'approvals', 'assignments', 'attempt_answers',
        'audit_logs', 'courses', 'course_modules', 'data_retention_policies', 'discussions',
        'discussion_posts', 'enrollments', 'guardian_links', 'integration_configs', 'lesson_plans',
        'lesson_versions', 'lti_registrations', 'lti_resource_links', 'message_threads', 'messages',
        'module_items', 'notifications', 'permissions', 'question_banks', 'questions',
        'question_versions', 'quizzes', 'quiz_attempts', 'quiz_items', 'resource_links', 'rubrics',
        'rubric_criteria', 'rubric_ratings', 'schools', 'search', 'sections', 'standards',
        'standard_frameworks', 'submissions', 'sync_logs', 'sync_mappings', 'sync_runs',
        'templates', 'template_versions', 'terms', 'unit_plans', 'unit_versions', 'users'])
),
defaults(role_name, resource, actions) AS (VALUES
    ('teacher', 'unit_plans', ARRAY['read', 'create', 'update', 'delete', 'publish']),
    ('teacher', 'lesson_plans', ARRAY['read', 'create', 'update', 'delete']),
    ('teacher', 'courses', ARRAY['read']),
    ('teacher', 'assignments', ARRAY['read', 'create', 'update', 'delete', 'publish']),
    ('teacher', 'submissions', ARRAY['read', 'update']),
    ('teacher', 'quizzes', ARRAY['read', 'create', 'update', 'delete', 'publish']),
    ('teacher', 'discussions', ARRAY['read', 'create', 'update']),
    ('teacher', 'resource_links', ARRAY['read', 'create', 'update', 'delete']),
    ('student', 'courses', ARRAY['read']),
    ('student', 'assignments', ARRAY['read']),
    ('student', 'submissions', ARRAY['read', 'create']),
    ('student', 'quizzes', ARRAY['read']),
    ('student', 'discussions', ARRAY['read', 'create']),
    ('curriculum_lead', 'unit_plans', ARRAY['read', 'create', 'update', 'delete', 'publish', 'approve']),
    ('curriculum_lead', 'templates', ARRAY['read', 'create', 'update', 'delete', 'publish']),
    ('curriculum_lead', 'standards', ARRAY['read', 'create', 'update']),
    ('curriculum_lead', 'approvals', ARRAY['read', 'update']),
    ('guardian', 'submissions', ARRAY['read'])
),
expanded(role_name, resource, action) AS (
    SELECT 'admin', v.resource, a.action
    FROM valid_resources v
    CROSS JOIN unnest(ARRAY['read', 'create', 'update', 'delete', 'publish', 'approve', 'manage']) AS a(action)
    UNION ALL
    SELECT d.role_name, d.resource, a.action
    FROM defaults d CROSS JOIN LATERAL unnest(d.actions) AS a(action)
)
INSERT INTO public.permissions (tenant_id, role_id, resource, action, granted, created_at, updated_at)
SELECT r.tenant_id, r.id, e.resource, e.action, true, r.created_at, r.created_at
FROM expanded e
JOIN public.roles r ON r.name = e.role_name
ORDER BY r.tenant_id, r.id, e.resource, e.action;

-- Users ---------------------------------------------------------------------------------------------

CREATE TEMP TABLE sample_first_names ON COMMIT DROP AS
SELECT (n - 1)::integer AS idx, names[n][1] AS display, names[n][2] AS ascii
FROM (SELECT ARRAY[
    ARRAY['Olivia', 'olivia'], ARRAY['Liam', 'liam'], ARRAY['Emma', 'emma'], ARRAY['Noah', 'noah'],
    ARRAY['Ava', 'ava'], ARRAY['Mateo', 'mateo'], ARRAY['Sophia', 'sophia'], ARRAY['Elijah', 'elijah'],
    ARRAY['Isabella', 'isabella'], ARRAY['Lucas', 'lucas'], ARRAY['Mia', 'mia'], ARRAY['Ethan', 'ethan'],
    ARRAY['Amara', 'amara'], ARRAY['Zoë', 'zoe'], ARRAY['José', 'jose'], ARRAY['Chloé', 'chloe'],
    ARRAY['Björn', 'bjorn'], ARRAY['Siobhán', 'siobhan'], ARRAY['Aaliyah', 'aaliyah'], ARRAY['Kenji', 'kenji'],
    ARRAY['Priya', 'priya'], ARRAY['Oluwaseun', 'oluwaseun'], ARRAY['Mei', 'mei'], ARRAY['Dmitri', 'dmitri'],
    ARRAY['Fatima', 'fatima'], ARRAY['Santiago', 'santiago'], ARRAY['Hana', 'hana'], ARRAY['Mary-Kate', 'marykate'],
    ARRAY['Jean-Luc', 'jeanluc'], ARRAY['Renée', 'renee'], ARRAY['Søren', 'soren'], ARRAY['Ana Sofía', 'anasofia'],
    ARRAY['Malik', 'malik'], ARRAY['Grace', 'grace'], ARRAY['Wei', 'wei'], ARRAY['Leilani', 'leilani'],
    ARRAY['Omar', 'omar'], ARRAY['Ingrid', 'ingrid'], ARRAY['Tomás', 'tomas'], ARRAY['Aditya', 'aditya'],
    ARRAY['Nia', 'nia']
]::text[] AS names) AS a
CROSS JOIN LATERAL generate_series(1, array_length(a.names, 1)) AS n;

CREATE TEMP TABLE sample_last_names ON COMMIT DROP AS
SELECT (n - 1)::integer AS idx, names[n][1] AS display, names[n][2] AS ascii
FROM (SELECT ARRAY[
    ARRAY['O''Brien', 'obrien'], ARRAY['D''Angelo', 'dangelo'], ARRAY['Smith', 'smith'], ARRAY['Johnson', 'johnson'],
    ARRAY['García', 'garcia'], ARRAY['Nguyễn', 'nguyen'], ARRAY['Müller', 'muller'], ARRAY['Okafor', 'okafor'],
    ARRAY['Kowalski', 'kowalski'], ARRAY['Patel', 'patel'], ARRAY['Kim', 'kim'], ARRAY['Hernández', 'hernandez'],
    ARRAY['Rossi', 'rossi'], ARRAY['van der Berg', 'vanderberg'], ARRAY['McAllister', 'mcallister'], ARRAY['Al-Sayed', 'alsayed'],
    ARRAY['Ødegaard', 'odegaard'], ARRAY['Chen', 'chen'], ARRAY['Williams', 'williams'], ARRAY['Brown', 'brown'],
    ARRAY['Jones', 'jones'], ARRAY['Martínez', 'martinez'], ARRAY['Davis', 'davis'], ARRAY['Lopez', 'lopez'],
    ARRAY['Wilson', 'wilson'], ARRAY['Anderson', 'anderson'], ARRAY['Thomas', 'thomas'], ARRAY['Taylor', 'taylor'],
    ARRAY['Moore', 'moore'], ARRAY['Jackson', 'jackson'], ARRAY['Lee', 'lee'], ARRAY['Thompson', 'thompson'],
    ARRAY['White', 'white'], ARRAY['Harris', 'harris'], ARRAY['Núñez', 'nunez'], ARRAY['Dubois', 'dubois'],
    ARRAY['St. James', 'stjames'], ARRAY['Fitzgerald-Lee', 'fitzgeraldlee'], ARRAY['Walker', 'walker'],
    ARRAY['Young', 'young'], ARRAY['Schröder', 'schroder'], ARRAY['Yılmaz', 'yilmaz'], ARRAY['Papadopoulos', 'papadopoulos']
]::text[] AS names) AS a
CROSS JOIN LATERAL generate_series(1, array_length(a.names, 1)) AS n;

-- One row per user: kind (the role), and k, the user's 0-based index within its kind and tenant.
CREATE TEMP TABLE sample_users ON COMMIT DROP AS
WITH seq AS (
    SELECT st.*, i
    FROM sample_tenants st
    CROSS JOIN LATERAL generate_series(1, 1 + st.leads + st.teachers + st.students + st.guardians) AS i
),
kinded AS (
    SELECT seq.*,
           CASE
               WHEN i = 1 THEN 'admin'
               WHEN i <= 1 + leads THEN 'curriculum_lead'
               WHEN i <= 1 + leads + teachers THEN 'teacher'
               WHEN i <= 1 + leads + teachers + students THEN 'student'
               ELSE 'guardian'
           END AS kind,
           CASE
               WHEN i = 1 THEN 0
               WHEN i <= 1 + leads THEN i - 2
               WHEN i <= 1 + leads + teachers THEN i - 2 - leads
               WHEN i <= 1 + leads + teachers + students THEN i - 2 - leads - teachers
               ELSE i - 2 - leads - teachers - students
           END AS k
    FROM seq
)
SELECT kd.tenant_id, kd.ord AS tenant_ord, kd.i, kd.kind, kd.k,
       CASE WHEN kd.kind = 'admin' THEN kd.admin_first ELSE f.display END AS first_name,
       CASE WHEN kd.kind = 'admin' THEN kd.admin_last ELSE l.display END AS last_name,
       CASE WHEN kd.kind = 'admin' THEN kd.admin_email
            ELSE f.ascii || '.' || l.ascii || '.' || lpad(kd.i::text, 4, '0')
                 || CASE kd.kind WHEN 'guardian' THEN '@family.' WHEN 'student' THEN '@students.' ELSE '@' END
                 || kd.domain
       END AS email,
       kd.created_at + interval '1 hour' + kd.i * interval '37 seconds' AS created_at
FROM kinded kd
JOIN sample_first_names f ON f.idx = (kd.i * 7 + kd.ord * 3) % (SELECT count(*) FROM sample_first_names)
JOIN sample_last_names l ON l.idx = (kd.i * 11 + kd.ord * 5) % (SELECT count(*) FROM sample_last_names);

INSERT INTO public.users (tenant_id, email, first_name, last_name, preferences, created_at, updated_at)
SELECT u.tenant_id, u.email, u.first_name, u.last_name,
       jsonb_strip_nulls(jsonb_build_object(
           'locale', (ARRAY['en', 'en', 'en', 'es', 'en', 'fr', 'en', 'vi', 'en', 'zh-CN'])[1 + u.i % 10],
           'notifications', jsonb_build_object(
               'email', u.i % 4 <> 0,
               'in_app', true,
               'digest', (ARRAY['daily', 'weekly', 'never'])[1 + u.i % 3]),
           'grade_level', CASE WHEN u.kind = 'student' THEN (ARRAY['K', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12'])[1 + u.k % 13] END,
           'accommodations', CASE WHEN u.kind = 'student' AND u.k % 23 = 0
                                  THEN '["extended_time", "read_aloud", "preferential seating, front row"]'::jsonb END,
           'signature', CASE WHEN u.kind IN ('teacher', 'curriculum_lead', 'admin')
                             THEN u.first_name || ' ' || u.last_name || E'\nRoom ' || (100 + u.i % 60) || ', Building ' || chr(65 + u.i % 4) END,
           'preferred_contact', CASE WHEN u.kind = 'guardian' THEN (ARRAY['email', 'sms', 'phone'])[1 + u.k % 3] END,
           'notes', CASE WHEN u.i % 97 = 0
                         THEN E'Loves robotics, chess, and "Hamlet".\nAsked to be called "' || u.first_name || E'" — not a nickname.\tThanks! 🎻' END
       )),
       u.created_at, u.created_at
FROM sample_users u
ORDER BY u.tenant_ord, u.i;

ALTER TABLE sample_users ADD COLUMN user_id bigint;
UPDATE sample_users u SET user_id = x.id
FROM public.users x
WHERE x.tenant_id = u.tenant_id AND x.email = u.email;

-- Every user gets the role of its kind; curriculum leads also teach.
INSERT INTO public.user_roles (tenant_id, user_id, role_id, created_at, updated_at)
SELECT u.tenant_id, u.user_id, r.id, u.created_at, u.created_at
FROM sample_users u
JOIN public.roles r
  ON r.tenant_id = u.tenant_id
 AND (r.name = u.kind OR (u.kind = 'curriculum_lead' AND r.name = 'teacher'))
ORDER BY u.tenant_ord, u.i, r.id;

-- Academic years: last year, and the current one --------------------------------------------------

INSERT INTO public.academic_years (tenant_id, name, start_date, end_date, current, created_at, updated_at)
SELECT st.tenant_id, y.name, y.start_date, y.end_date, y.current,
       st.created_at + interval '10 minutes', st.created_at + interval '10 minutes'
FROM sample_tenants st
CROSS JOIN (VALUES
    (1, '2024-2025', date '2024-08-01', date '2025-07-31', false),
    (2, '2025-2026', date '2025-08-01', date '2026-07-31', true)
) AS y(ord, name, start_date, end_date, current)
ORDER BY st.ord, y.ord;

-- Courses -------------------------------------------------------------------------------------------

CREATE TEMP TABLE sample_catalog (ord integer PRIMARY KEY, code text, name text, blurb text) ON COMMIT DROP;
INSERT INTO sample_catalog VALUES
    (1, 'ENG-09', 'English 9: Literature & Composition',
        E'Close reading of short fiction, poetry, and drama.\nIncludes a unit on Shakespeare''s "Romeo and Juliet".'),
    (2, 'MATH-ALG1', 'Algebra I', 'Linear equations, inequalities, functions, and systems.'),
    (3, 'SCI-BIO', 'Biology', E'Cells, genetics, evolution, and ecology.\nLab fee: $15, waived on request.'),
    (4, 'SS-USHIST', 'U.S. History',
        E'Students analyze primary sources ("The Federalist Papers", letters, speeches),\nthen write a document-based essay.'),
    (5, 'CS-ROBOT', 'Robotics & Coding 🤖', E'Build, program, and test robots in teams of 3–4.\nNo experience needed; bring curiosity.'),
    (6, 'MATH-GEO', 'Geometry', 'Proof, congruence, similarity, trigonometry, and circles.'),
    (7, 'SCI-CHEM', 'Chemistry', 'Atomic structure, bonding, reactions, and stoichiometry.'),
    (8, 'LANG-SPAN1', 'Spanish I — Español básico', E'Conversación, vocabulario y cultura.\n¡Vamos a hablar!'),
    (9, 'ENG-10', 'English 10: World Literature', 'Novels, myths, and poetry from six continents, in translation.'),
    (10, 'MATH-ALG2', 'Algebra II / Trigonometry', 'Polynomial, rational, exponential, and trigonometric functions.'),
    (11, 'SCI-PHYS', 'Physics: Motion, Energy, and Waves', E'Kinematics, forces, energy, waves.\nGraphing calculator required (TI-84 or similar).'),
    (12, 'SS-WHIST', 'World History', 'From the first cities to the 21st century.'),
    (13, 'LANG-FREN1', 'French I: Français élémentaire', E'Salut ! Ça va ?\nVocabulaire, grammaire et culture francophone.'),
    (14, 'ART-STUDIO', 'Studio Art', 'Drawing, painting, printmaking; a portfolio review in May.'),
    (15, 'MUS-BAND', 'Concert Band 🎺', E'Rehearsals Mon/Wed/Fri.\nConcerts: Dec. 12 and May 8, 7:00 p.m.'),
    (16, 'CS-APCSP', 'AP Computer Science Principles', 'Algorithms, data, the internet, and the impact of computing.'),
    (17, 'MATH-PRECALC', 'Pre-Calculus', 'Functions, limits, vectors, and polar coordinates.'),
    (18, 'SS-GOV', 'Government & Civics', 'Constitution, branches of government, and civic participation.'),
    (19, 'LANG-MAND1', 'Mandarin I 中文', E'拼音, characters, and everyday conversation.\nTones practice daily.'),
    (20, 'PE-HEALTH', 'Health & Physical Education', 'Fitness, nutrition, and wellbeing.'),
    (21, 'MATH-APCALC', 'AP Calculus AB', 'Limits, derivatives, integrals; the AP exam in May.'),
    (22, 'SCI-EARTH', 'Earth & Space Science', 'Plate tectonics, weather, climate, and the solar system.'),
    (23, 'SS-ECON', 'Economics', 'Supply, demand, markets, and personal finance.'),
    (24, 'ELA-06', 'Grade 6 English Language Arts', 'Reading workshop, writer''s notebook, and book clubs.');

WITH wanted AS (
    -- current-year courses for every tenant; past-year courses (same codes) where planned
    SELECT st.tenant_id, st.ord AS tenant_ord, st.created_at, c.*, true AS current_year
    FROM sample_tenants st JOIN sample_catalog c ON c.ord <= st.current_courses
    UNION ALL
    SELECT st.tenant_id, st.ord, st.created_at, c.*, false
    FROM sample_tenants st JOIN sample_catalog c ON c.ord <= st.past_courses
),
schools_numbered AS (
    SELECT s.id, s.tenant_id,
           row_number() OVER (PARTITION BY s.tenant_id ORDER BY s.id) - 1 AS n,
           count(*) OVER (PARTITION BY s.tenant_id) AS total
    FROM public.schools s
)
INSERT INTO public.courses (tenant_id, academic_year_id, school_id, code, name, description, settings,
                            created_at, updated_at)
SELECT w.tenant_id, ay.id, sn.id, w.code, w.name,
       w.blurb || E'\n\nCourse code ' || w.code || ', ' || ay.name || '.',
       jsonb_build_object(
           'credits', CASE WHEN w.ord % 5 = 0 THEN 0.5 ELSE 1.0 END,
           'room', chr(65 + w.ord % 4) || '-' || (100 + w.ord * 3),
           'grading_scale', jsonb_build_object('A', 90, 'B', 80, 'C', 70, 'D', 60),
           'weights', jsonb_build_object('homework', 0.2, 'quizzes', 0.3, 'tests', 0.5),
           'weekly_plan', (SELECT jsonb_agg(format('Week %s: unit %s, lesson %s — %s', wk, (wk - 1) / 4 + 1,
                                                   wk, w.name) ORDER BY wk)
                           FROM generate_series(1, 36) AS wk)),
       CASE WHEN w.current_year THEN w.created_at + interval '20 days' ELSE w.created_at + interval '15 minutes' END
           + w.ord * interval '3 minutes',
       CASE WHEN w.current_year THEN w.created_at + interval '20 days' ELSE w.created_at + interval '15 minutes' END
           + w.ord * interval '3 minutes'
FROM wanted w
JOIN public.academic_years ay
  ON ay.tenant_id = w.tenant_id AND ay.name = CASE WHEN w.current_year THEN '2025-2026' ELSE '2024-2025' END
JOIN schools_numbered sn ON sn.tenant_id = w.tenant_id AND sn.n = (w.ord - 1) % sn.total
ORDER BY w.tenant_ord, NOT w.current_year, w.ord;

-- Sections: two per course; codes unique per tenant across years ----------------------------------

INSERT INTO public.sections (tenant_id, course_id, code, name, created_at, updated_at)
SELECT c.tenant_id, c.id,
       c.code || CASE WHEN ay.current THEN '' ELSE '-2425' END || '-' || lpad(k::text, 2, '0'),
       c.name || ' — Period ' || ((c.id * 2 + k) % 7 + 1),
       c.created_at + k * interval '1 minute', c.created_at + k * interval '1 minute'
FROM public.courses c
JOIN public.academic_years ay ON ay.id = c.academic_year_id
CROSS JOIN generate_series(1, 2) AS k
ORDER BY c.id, k;

-- Enrollments ---------------------------------------------------------------------------------------
-- Section j (0-based within its tenant) gets teacher j mod T, a co-teacher when j mod 5 = 0, and
-- 24..40 students: student (17j + 7m) mod S for m = 0.., all distinct because gcd(7, S) = 1.

CREATE TEMP TABLE sample_sections ON COMMIT DROP AS
SELECT s.id AS section_id, s.tenant_id, s.created_at,
       (row_number() OVER (PARTITION BY s.tenant_id ORDER BY s.id) - 1)::integer AS j
FROM public.sections s;

INSERT INTO public.enrollments (tenant_id, user_id, section_id, role, created_at, updated_at)
SELECT e.tenant_id, e.user_id, e.section_id, e.role, e.created_at, e.created_at
FROM (
    SELECT ss.tenant_id, u.user_id, ss.section_id, 'teacher' AS role,
           ss.created_at + interval '1 day' AS created_at, 0 AS ord
    FROM sample_sections ss
    JOIN sample_tenants st ON st.tenant_id = ss.tenant_id
    JOIN sample_users u ON u.tenant_id = ss.tenant_id AND u.kind = 'teacher' AND u.k = ss.j % st.teachers
    UNION ALL
    SELECT ss.tenant_id, u.user_id, ss.section_id, 'teacher',
           ss.created_at + interval '1 day 5 minutes', 1
    FROM sample_sections ss
    JOIN sample_tenants st ON st.tenant_id = ss.tenant_id
    JOIN sample_users u ON u.tenant_id = ss.tenant_id AND u.kind = 'teacher' AND u.k = (ss.j + 1) % st.teachers
    WHERE ss.j % 5 = 0
    UNION ALL
    SELECT ss.tenant_id, u.user_id, ss.section_id, 'student',
           ss.created_at + interval '2 days' + m * interval '1 minute', 2 + m
    FROM sample_sections ss
    JOIN sample_tenants st ON st.tenant_id = ss.tenant_id
    CROSS JOIN LATERAL generate_series(0, 23 + (ss.j * 11) % 17) AS m
    JOIN sample_users u ON u.tenant_id = ss.tenant_id AND u.kind = 'student'
                       AND u.k = (ss.j * 17 + m * 7) % st.students
) AS e
ORDER BY e.section_id, e.ord;

-- AI provider configs and task policies -------------------------------------------------------------

INSERT INTO public.ai_provider_configs (tenant_id, created_by_id, provider_name, display_name, default_model,
                                        api_key, status, available_models, settings, created_at, updated_at)
SELECT st.tenant_id, admin.user_id, p.provider_name, p.display_name, p.default_model,
       NULL, p.status, p.available_models, p.settings,
       st.created_at + interval '30 minutes', st.created_at + interval '30 minutes'
FROM sample_tenants st
JOIN sample_users admin ON admin.tenant_id = st.tenant_id AND admin.kind = 'admin'
JOIN (VALUES
    (1, 'anthropic', 'Claude', 'claude-sonnet-4-5-20250929', 'active',
        '["claude-sonnet-4-5-20250929"]'::jsonb, '{}'::jsonb, 0),
    (2, 'anthropic', 'Claude', 'claude-sonnet-4-5-20250929', 'active',
        '["claude-sonnet-4-5-20250929", "claude-haiku-4-5"]'::jsonb,
        '{"request_timeout_seconds": 30, "note": "District pilot, phase 1,\nreviewed quarterly."}'::jsonb, 0),
    (2, 'openai', 'OpenAI', 'gpt-4.1-mini', 'inactive', '["gpt-4.1-mini"]'::jsonb, '{}'::jsonb, 1),
    (3, 'anthropic', 'Claude', 'claude-sonnet-4-5-20250929', 'active',
        '["claude-sonnet-4-5-20250929", "claude-haiku-4-5"]'::jsonb, '{"region": "us"}'::jsonb, 0)
) AS p(tenant_ord, provider_name, display_name, default_model, status, available_models, settings, ord)
  ON p.tenant_ord = st.ord
ORDER BY st.ord, p.ord;

INSERT INTO public.ai_task_policies (tenant_id, created_by_id, ai_provider_config_id, task_type, enabled,
                                     requires_approval, allowed_roles, model_override, temperature_limit,
                                     max_tokens_limit, settings, created_at, updated_at)
SELECT st.tenant_id, admin.user_id,
       CASE WHEN t.no_provider THEN NULL ELSE pc.id END,
       t.task_type, t.enabled, t.requires_approval, t.allowed_roles, t.model_override,
       t.temperature_limit, t.max_tokens_limit, t.settings,
       st.created_at + interval '31 minutes' + t.ord * interval '1 second',
       st.created_at + interval '31 minutes' + t.ord * interval '1 second'
FROM sample_tenants st
JOIN sample_users admin ON admin.tenant_id = st.tenant_id AND admin.kind = 'admin'
JOIN public.ai_provider_configs pc ON pc.tenant_id = st.tenant_id AND pc.provider_name = 'anthropic'
JOIN (
    -- the provisioning defaults, for every tenant (students get no AI task by default) ...
    SELECT NULL::integer AS tenant_ord, d.ord, d.task_type, true AS enabled, true AS requires_approval,
           '["admin", "curriculum_lead", "teacher"]'::jsonb AS allowed_roles, NULL::text AS model_override,
           1.0::numeric AS temperature_limit, 4096 AS max_tokens_limit, '{}'::jsonb AS settings,
           false AS no_provider
    FROM (VALUES (1, 'lesson_plan'), (2, 'unit_plan'), (3, 'differentiation'), (4, 'assessment'),
                 (5, 'rewrite')) AS d(ord, task_type)
    UNION ALL
    -- ... and a few tenant-specific ones
    SELECT * FROM (VALUES
        (3, 6, 'ib_report_summary', true, false, '["admin", "curriculum_lead", "teacher"]'::jsonb,
            'claude-haiku-4-5', 0.4, 2048,
            jsonb_build_object('system_prompt',
                E'Summarise the learner''s term report in plain language, for families.\n'
                || E'Avoid jargon; never "grade" the child; keep it under 150 words, please.'),
            false),
        (3, 7, 'ib_family_language', false, true, '["admin", "teacher", "guardian"]'::jsonb,
            NULL, 0.2, 1024, '{"languages": ["es", "vi", "zh-CN"]}'::jsonb, true)
    ) AS x(tenant_ord, ord, task_type, enabled, requires_approval, allowed_roles, model_override,
           temperature_limit, max_tokens_limit, settings, no_provider)
) AS t ON t.tenant_ord IS NULL OR t.tenant_ord = st.ord
ORDER BY st.ord, t.ord;

-- Riverbend paused AI-generated assessments.
UPDATE public.ai_task_policies p
SET enabled = false,
    settings = jsonb_build_object('paused_reason',
        E'Paused by the district, pending review.\nSee board minutes, 2025-09-12.'),
    updated_at = timestamp '2025-09-12 18:30:00'
FROM sample_tenants st
WHERE p.tenant_id = st.tenant_id AND st.slug = 'riverbend-isd' AND p.task_type = 'assessment';

-- Backup history, as the platform's old DatabaseBackupJob recorded it ---------------------------------

INSERT INTO public.backup_records (backup_type, status, s3_key, s3_bucket, size_bytes, duration_seconds,
                                   metadata, error_message, verified_at, verification_result,
                                   created_at, updated_at)
VALUES
    ('full', 'verified', 'backups/2025/10/k12_full_20251014_020000.sql.gz', 'k12-backups', 48213377, 312,
     '{"pg_version": "PostgreSQL 15.8 (Debian 15.8-1.pgdg120+1) on x86_64-pc-linux-gnu, compiled by gcc, 64-bit",
       "table_row_counts": {"tenants": 3, "schools": 9, "users": 1500, "enrollments": 3990},
       "database_size": "412 MB", "rails_env": "production"}'::jsonb,
     NULL, '2025-10-14 02:41:09.123456',
     '{"passed": true, "tables_checked": 4, "mismatches": [],
       "details": {"tenants": {"expected": 3, "actual": 3, "match": true},
                   "schools": {"expected": 9, "actual": 9, "match": true},
                   "users": {"expected": 1500, "actual": 1500, "match": true},
                   "enrollments": {"expected": 3990, "actual": 3990, "match": true}}}'::jsonb,
     '2025-10-14 02:00:00.000001', '2025-10-14 02:41:09.123456'),
    ('full', 'failed', 'backups/2025/10/k12_full_20251015_020000.sql.gz', 'k12-backups', NULL, NULL,
     '{}'::jsonb,
     E'pg_dump: error: connection to server at "db.internal" (10.0.3.7), port 5432 failed: FATAL:  too many connections for role "k12"\n',
     NULL, '{}'::jsonb,
     '2025-10-15 02:00:00.000002', '2025-10-15 02:00:04.500000'),
    ('full', 'completed', 'backups/2025/10/k12_full_20251016_020000.sql.gz', 'k12-backups', 48377120, 298,
     '{"pg_version": "PostgreSQL 15.8", "table_row_counts": {"tenants": 3}, "database_size": "413 MB",
       "rails_env": "production"}'::jsonb,
     NULL, NULL, '{}'::jsonb,
     '2025-10-16 02:00:00.000003', '2025-10-16 02:04:58.000000');

-- Counter caches: exact, from real counts (LEFT JOIN so a parent with no children gets 0) ----------

UPDATE public.tenants t
SET schools_count = c.schools, courses_count = c.courses
FROM (
    SELECT t2.id,
           (SELECT count(*) FROM public.schools s WHERE s.tenant_id = t2.id) AS schools,
           (SELECT count(*) FROM public.courses c WHERE c.tenant_id = t2.id) AS courses
    FROM public.tenants t2
) AS c
WHERE c.id = t.id;

UPDATE public.sections s
SET enrollments_count = c.n
FROM (
    SELECT s2.id, count(e.id) AS n
    FROM public.sections s2
    LEFT JOIN public.enrollments e ON e.section_id = s2.id
    GROUP BY s2.id
) AS c
WHERE c.id = s.id;

COMMIT;

ANALYZE;
