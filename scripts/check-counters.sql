--
-- scripts/check-counters.sql: are the platform's counter caches exact?
--
--     psql -X -v ON_ERROR_STOP=1 -d k12_demo -f scripts/check-counters.sql
--
-- Returns no rows when every counter cache equals the real count, and one row per mismatch
-- otherwise: (table_name, id, counter, cached, actual). Read-only; safe on a live database.
--
-- Checked, where the database has the column (the platform's schema has the first, the task
-- documents' variant schema/lms.sql the other three): courses.enrollments_count (enrollments
-- through sections), tenants.schools_count, tenants.courses_count, sections.enrollments_count:
-- the counters k12ctl's writes affect. A column the database lacks is read as absent through
-- to_jsonb(row), so the same query runs on either schema.
--
-- In a test, `SELECT count(*) FROM (<this query>) q` must be 0; the rows say what is wrong.
--

SELECT 'courses' AS table_name, c.id, 'enrollments_count' AS counter,
       (to_jsonb(c) ->> 'enrollments_count')::bigint AS cached, coalesce(n.n, 0) AS actual
FROM public.courses c
LEFT JOIN (SELECT s.course_id, count(*) AS n FROM public.enrollments e
           JOIN public.sections s ON s.id = e.section_id GROUP BY s.course_id) n
       ON n.course_id = c.id
WHERE to_jsonb(c) ? 'enrollments_count'
  AND (to_jsonb(c) ->> 'enrollments_count')::bigint IS DISTINCT FROM coalesce(n.n, 0)

UNION ALL

SELECT 'tenants', t.id, 'schools_count',
       (to_jsonb(t) ->> 'schools_count')::bigint, coalesce(c.n, 0)
FROM public.tenants t
LEFT JOIN (SELECT tenant_id, count(*) AS n FROM public.schools GROUP BY tenant_id) c
       ON c.tenant_id = t.id
WHERE to_jsonb(t) ? 'schools_count'
  AND (to_jsonb(t) ->> 'schools_count')::bigint IS DISTINCT FROM coalesce(c.n, 0)

UNION ALL

SELECT 'tenants', t.id, 'courses_count',
       (to_jsonb(t) ->> 'courses_count')::bigint, coalesce(c.n, 0)
FROM public.tenants t
LEFT JOIN (SELECT tenant_id, count(*) AS n FROM public.courses GROUP BY tenant_id) c
       ON c.tenant_id = t.id
WHERE to_jsonb(t) ? 'courses_count'
  AND (to_jsonb(t) ->> 'courses_count')::bigint IS DISTINCT FROM coalesce(c.n, 0)

UNION ALL

SELECT 'sections', s.id, 'enrollments_count',
       (to_jsonb(s) ->> 'enrollments_count')::bigint, coalesce(c.n, 0)
FROM public.sections s
LEFT JOIN (SELECT section_id, count(*) AS n FROM public.enrollments GROUP BY section_id) c
       ON c.section_id = s.id
WHERE to_jsonb(s) ? 'enrollments_count'
  AND (to_jsonb(s) ->> 'enrollments_count')::bigint IS DISTINCT FROM coalesce(c.n, 0)

ORDER BY table_name, id, counter;
