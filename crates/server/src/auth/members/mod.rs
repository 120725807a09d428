//! Workspace members: `/v1/users` (people) and `/v1/service-accounts` (automation).

pub mod service_accounts;
pub mod store;
pub mod users;

use uuid::Uuid;

use crate::Error;
use crate::auth::model::{Member, PrincipalKind};
use crate::auth::store::find_member;
use crate::state::AppState;

/// The member of the caller's workspace with this id and kind, else 404 (including members
/// of other workspaces: their existence is not revealed).
async fn find_member_of_kind(
    state: &AppState,
    workspace_id: Uuid,
    id: Uuid,
    kind: PrincipalKind,
) -> Result<Member, Error> {
    match find_member(&state.db, workspace_id, id).await? {
        Some(member) if member.kind == kind => Ok(member),
        _ => Err(Error::not_found(match kind {
            PrincipalKind::User => "no user with this id in the workspace",
            PrincipalKind::ServiceAccount => "no service account with this id in the workspace",
        })),
    }
}
