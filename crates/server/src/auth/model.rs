//! Who is calling, and the records behind that answer.

use serde::Serialize;
use signalbox_core::{Role, Timestamp, TokenScope};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    User,
    ServiceAccount,
}

impl PrincipalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::User => "user",
            PrincipalKind::ServiceAccount => "service_account",
        }
    }

    pub fn parse(text: &str) -> Result<Self, crate::Error> {
        match text {
            "user" => Ok(PrincipalKind::User),
            "service_account" => Ok(PrincipalKind::ServiceAccount),
            other => Err(crate::Error::internal(anyhow::anyhow!("stored principal kind {other:?}"))),
        }
    }
}

/// How the caller proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    Session(Uuid),
    ApiToken {
        id: Uuid,
        scope: Option<TokenScope>,
    },
    /// An action set running its action number `step` of run `run_id`, as its actor.
    ActionRun {
        run_id: Uuid,
        step: i64,
    },
}

/// An authenticated request's principal, workspace and effective role, read from the
/// database on every request so changes take effect at once.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal_id: Uuid,
    pub kind: PrincipalKind,
    pub workspace_id: Uuid,
    /// For a token: min(token role, the principal's current role).
    pub role: Role,
    pub credential: Credential,
}

impl Caller {
    /// 403 unless the caller's effective role is at least `needed`.
    pub fn require(&self, needed: Role) -> Result<(), crate::Error> {
        if self.role >= needed {
            Ok(())
        } else {
            Err(crate::Error::forbidden(format!(
                "this needs the {needed} role or higher; the credential used has {}",
                self.role
            )))
        }
    }

    pub fn session_id(&self) -> Option<Uuid> {
        match self.credential {
            Credential::Session(id) => Some(id),
            Credential::ApiToken { .. } | Credential::ActionRun { .. } => None,
        }
    }

    /// For an action run: the step its change must advance in the same transaction, so each
    /// action of a run happens once even across crashes and nodes.
    pub fn step_guard(&self) -> Option<crate::actions::StepGuard> {
        match self.credential {
            Credential::ActionRun { run_id, step } => Some(crate::actions::StepGuard { run_id, step }),
            Credential::Session(_) | Credential::ApiToken { .. } => None,
        }
    }
}

/// A stored user with the hash to check a password against.
#[derive(Debug, Clone)]
pub struct UserLogin {
    pub id: Uuid,
    pub password_hash: Option<String>,
}

/// A membership as listed: the principal and their role in one workspace.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Member {
    pub id: Uuid,
    pub kind: PrincipalKind,
    /// Users only.
    pub email: Option<String>,
    pub name: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}
