//! What a new school starts with: the five roles' permissions
//! (`TenantProvisioningService::DEFAULT_PERMISSIONS`) and the default AI task
//! policies, configurable under `provision:` in the YAML file.

use serde::{Deserialize, Serialize};

use super::rules::{AI_TASK_TYPES, ROLES};

/// `Permission::VALID_RESOURCES`: what the admin role's "all" expands to.
const RESOURCES: [&str; 48] = [
    "academic_years",
    "announcements",
    "approvals",
    "assignments",
    "attempt_answers",
    "audit_logs",
    "courses",
    "course_modules",
    "data_retention_policies",
    "discussions",
    "discussion_posts",
    "enrollments",
    "guardian_links",
    "integration_configs",
    "lesson_plans",
    "lesson_versions",
    "lti_registrations",
    "lti_resource_links",
    "message_threads",
    "messages",
    "module_items",
    "notifications",
    "permissions",
    "question_banks",
    "questions",
    "question_versions",
    "quizzes",
    "quiz_attempts",
    "quiz_items",
    "resource_links",
    "rubrics",
    "rubric_criteria",
    "rubric_ratings",
    "schools",
    "search",
    "sections",
    "standards",
    "standard_frameworks",
    "submissions",
    "sync_logs",
    "sync_mappings",
    "sync_runs",
    "templates",
    "template_versions",
    "terms",
    "unit_plans",
    "unit_versions",
    "users",
];

/// `Permission::VALID_ACTIONS`: the admin role holds all of them.
const ACTIONS: [&str; 7] = [
    "read", "create", "update", "delete", "publish", "approve", "manage",
];

/// The other roles' grants: (role, resource, actions).
const GRANTS: [(&str, &str, &[&str]); 18] = [
    (
        "teacher",
        "unit_plans",
        &["read", "create", "update", "delete", "publish"],
    ),
    (
        "teacher",
        "lesson_plans",
        &["read", "create", "update", "delete"],
    ),
    ("teacher", "courses", &["read"]),
    (
        "teacher",
        "assignments",
        &["read", "create", "update", "delete", "publish"],
    ),
    ("teacher", "submissions", &["read", "update"]),
    (
        "teacher",
        "quizzes",
        &["read", "create", "update", "delete", "publish"],
    ),
    ("teacher", "discussions", &["read", "create", "update"]),
    (
        "teacher",
        "resource_links",
        &["read", "create", "update", "delete"],
    ),
    ("student", "courses", &["read"]),
    ("student", "assignments", &["read"]),
    ("student", "submissions", &["read", "create"]),
    ("student", "quizzes", &["read"]),
    ("student", "discussions", &["read", "create"]),
    (
        "curriculum_lead",
        "unit_plans",
        &["read", "create", "update", "delete", "publish", "approve"],
    ),
    (
        "curriculum_lead",
        "templates",
        &["read", "create", "update", "delete", "publish"],
    ),
    (
        "curriculum_lead",
        "standards",
        &["read", "create", "update"],
    ),
    ("curriculum_lead", "approvals", &["read", "update"]),
    ("guardian", "submissions", &["read"]),
];

/// One granted permission: (role, resource, action).
pub type Permission = (&'static str, &'static str, &'static str);

/// Every permission a new tenant's roles are granted.
pub fn permissions() -> Vec<Permission> {
    let admin = RESOURCES
        .iter()
        .flat_map(|r| ACTIONS.iter().map(move |a| ("admin", *r, *a)));
    let others = GRANTS
        .iter()
        .flat_map(|(role, r, actions)| actions.iter().map(move |a| (*role, *r, *a)));
    admin.chain(others).collect()
}

/// A default AI task policy created for every new tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AiPolicy {
    pub task_type: String,
    /// Roles that may run the task. Never empty: the platform reads an empty
    /// list as "every role".
    pub allowed_roles: Vec<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default = "yes")]
    pub requires_approval: bool,
}

fn yes() -> bool {
    true
}

/// `provision:` in the YAML file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvisionFile {
    /// Replaces the default AI task policies as a whole.
    pub ai_policies: Option<Vec<AiPolicy>>,
}

/// Lesson planning, unit planning, differentiation, assessment and rewriting,
/// for staff only (students get no AI task by default), each needing approval.
pub fn default_ai_policies() -> Vec<AiPolicy> {
    [
        "lesson_plan",
        "unit_plan",
        "differentiation",
        "assessment",
        "rewrite",
    ]
    .iter()
    .map(|t| AiPolicy {
        task_type: (*t).to_owned(),
        allowed_roles: vec!["admin".into(), "curriculum_lead".into(), "teacher".into()],
        enabled: true,
        requires_approval: true,
    })
    .collect()
}

/// The configured policies, checked: known task types, each once, known
/// roles, no empty role list.
pub fn ai_policies(file: ProvisionFile) -> Result<Vec<AiPolicy>, String> {
    let Some(policies) = file.ai_policies else {
        return Ok(default_ai_policies());
    };
    let mut seen = std::collections::BTreeSet::new();
    for p in &policies {
        let t = p.task_type.as_str();
        if !AI_TASK_TYPES.contains(&t) {
            return Err(format!(
                "provision.ai_policies: unknown task_type {t:?} (one of: {})",
                AI_TASK_TYPES.join(", ")
            ));
        }
        if !seen.insert(t) {
            return Err(format!(
                "provision.ai_policies: task_type {t:?} is listed twice"
            ));
        }
        if p.allowed_roles.is_empty() {
            return Err(format!(
                "provision.ai_policies: {t}: allowed_roles is empty, which the platform reads as \
                 every role; list the roles explicitly"
            ));
        }
        if let Some(r) = p
            .allowed_roles
            .iter()
            .find(|r| !ROLES.contains(&r.as_str()))
        {
            return Err(format!(
                "provision.ai_policies: {t}: unknown role {r:?} (one of: {})",
                ROLES.join(", ")
            ));
        }
    }
    Ok(policies)
}

/// TenantProvisioningService's AI provider config for a new tenant:
/// (provider_name, display_name, default_model), status `active`.
pub const AI_PROVIDER: (&str, &str, &str) = ("anthropic", "Claude", "claude-sonnet-4-5-20250929");

/// The standard frameworks a new tenant starts with, and their jurisdiction.
pub const STANDARD_FRAMEWORKS: [&str; 3] = ["Common Core", "NGSS", "C3 Framework"];
pub const FRAMEWORK_JURISDICTION: &str = "US";

/// `CurriculumProfileRegistry::DEFAULT_PROFILE_KEY`.
pub const CURRICULUM_PROFILE_KEY: &str = "american_common_core_v1";

/// `tenants.settings` of a new tenant, as TenantProvisioningService writes it
/// with no optional parameter: branding (no logo yet), features (Google and
/// AI on), the strict AI safety level and the default curriculum profile.
pub fn tenant_settings(school_name: &str) -> serde_json::Value {
    serde_json::json!({
        "curriculum_default_profile_key": CURRICULUM_PROFILE_KEY,
        "branding": {
            "logo_url": null,
            "primary_color": "#1e40af",
            "school_name": school_name,
        },
        "features": {
            "ai_enabled": true,
            "google_integration": true,
            "portfolio_enabled": true,
            "guardian_portal_enabled": true,
        },
        "ai_safety_level": "strict",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_matrix_matches_the_platform() {
        let p = permissions();
        assert_eq!(p.iter().filter(|x| x.0 == "admin").count(), 48 * 7);
        assert_eq!(p.iter().filter(|x| x.0 == "teacher").count(), 29);
        assert_eq!(p.iter().filter(|x| x.0 == "student").count(), 7);
        assert_eq!(p.iter().filter(|x| x.0 == "curriculum_lead").count(), 16);
        assert_eq!(p.iter().filter(|x| x.0 == "guardian").count(), 1);
        let unique: std::collections::BTreeSet<_> = p.iter().collect();
        assert_eq!(unique.len(), p.len());
    }

    #[test]
    fn students_get_no_ai_task_by_default() {
        let d = ai_policies(ProvisionFile::default()).unwrap();
        assert_eq!(d.len(), 5);
        assert!(d
            .iter()
            .all(|p| !p.allowed_roles.iter().any(|r| r == "student")));
    }

    #[test]
    fn configured_policies_are_checked() {
        let parse = |y: &str| ai_policies(yaml_serde::from_str::<ProvisionFile>(y).unwrap());
        let ok =
            parse("ai_policies:\n  - {task_type: rewrite, allowed_roles: [teacher, student]}\n")
                .unwrap();
        assert_eq!(ok.len(), 1);
        assert!(ok[0].enabled && ok[0].requires_approval);
        let err = parse("ai_policies:\n  - {task_type: essay, allowed_roles: [teacher]}\n");
        assert!(err.unwrap_err().contains("unknown task_type"));
        let err = parse("ai_policies:\n  - {task_type: rewrite, allowed_roles: []}\n");
        assert!(err.unwrap_err().contains("every role"));
        let err = parse("ai_policies:\n  - {task_type: rewrite, allowed_roles: [principal]}\n");
        assert!(err.unwrap_err().contains("unknown role"));
    }
}
