--
-- scripts/check-counters.sql: are the platform's counter caches exact?
--
--     psql -X -v ON_ERROR_STOP=1 -d k12_demo -f scripts/check-counters.sql
--
-- Returns no rows when every counter cache equals the real count, and one row per mismatch
-- otherwise: (table_name, id, counter, cached, actual). Read-only; safe on a live database.
--
-- Checked: tenants.schools_count, tenants.courses_count, sections.enrollments_count (the counters
-- k12ctl's writes affect). courses.discussions_count / courses.quizzes_count are not checked: their
-- child tables (discussions, quizzes) are outside the schema/lms.sql subset.
--
-- In a test, `SELECT count(*) FROM (<this query>) q` must be 0; the rows say what is wrong.
--

SELECT 'tenants' AS table_name, t.id, 'schools_count' AS counter,
       t.schools_count::bigint AS cached, coalesce(c.n, 0) AS actual
FROM public.tenants t
LEFT JOIN (SELECT tenant_id, count(*) AS n FROM public.schools GROUP BY tenant_id) c
       ON c.tenant_id = t.id
WHERE t.schools_count IS DISTINCT FROM coalesce(c.n, 0)

UNION ALL

SELECT 'tenants', t.id, 'courses_count',
       t.courses_count::bigint, coalesce(c.n, 0)
FROM public.tenants t
LEFT JOIN (SELECT tenant_id, count(*) AS n FROM public.courses GROUP BY tenant_id) c
       ON c.tenant_id = t.id
WHERE t.courses_count IS DISTINCT FROM coalesce(c.n, 0)

UNION ALL

SELECT 'sections', s.id, 'enrollments_count',
       s.enrollments_count::bigint, coalesce(c.n, 0)
FROM public.sections s
LEFT JOIN (SELECT section_id, count(*) AS n FROM public.enrollments GROUP BY section_id) c
       ON c.section_id = s.id
WHERE s.enrollments_count IS DISTINCT FROM coalesce(c.n, 0)

ORDER BY table_name, id, counter;
