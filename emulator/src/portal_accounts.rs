//! The access portal's listings: ListAccounts and ListAccountRoles, authorized by the
//! access token, paginated (`max_result`, `next_token`) with at most
//! [`Settings::portal_page_size`](crate::Settings) items a page.

use crate::portal::bearer;
use crate::wire::{enter, json_error};
use crate::{Shared, lock};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;

/// The page of `items` that `next_token` (an offset) starts, and the next token.
fn page(
    items: Vec<Value>,
    q: &HashMap<String, String>,
    page_size: usize,
) -> Result<(Vec<Value>, Option<String>), Response> {
    let start = match q.get("next_token") {
        None => 0,
        Some(t) => match t
            .strip_prefix("page-")
            .and_then(|n| n.parse::<usize>().ok())
        {
            Some(n) if n <= items.len() => n,
            _ => {
                return Err(json_error(
                    400,
                    "InvalidRequestException",
                    "next_token is not valid",
                ));
            }
        },
    };
    let asked = q
        .get("max_result")
        .and_then(|m| m.parse::<usize>().ok())
        .unwrap_or(usize::MAX);
    let size = asked.min(page_size).max(1);
    let end = start.saturating_add(size).min(items.len());
    let next = (end < items.len()).then(|| format!("page-{end}"));
    Ok((items[start..end].to_vec(), next))
}

/// The reply listing the page of `items` that `q` asks for under `key`, with its
/// `nextToken`.
fn paged(key: &str, items: Vec<Value>, q: &HashMap<String, String>, page_size: usize) -> Response {
    match page(items, q, page_size) {
        Ok((list, next)) => axum::Json(json!({key: list, "nextToken": next})).into_response(),
        Err(r) => r,
    }
}

pub(crate) async fn list_accounts(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = enter(&state, "ListAccounts", false).await {
        return r;
    }
    let s = lock(&state);
    if let Err(r) = bearer(&s, &headers) {
        return r;
    }
    let items = s
        .settings
        .portal_accounts
        .iter()
        .map(|a| json!({"accountId": a.id, "accountName": a.name, "emailAddress": a.email}))
        .collect();
    paged("accountList", items, &q, s.settings.portal_page_size)
}

pub(crate) async fn list_account_roles(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = enter(&state, "ListAccountRoles", false).await {
        return r;
    }
    let delay = {
        let mut s = lock(&state);
        let (now, most) = &mut s.roles_in_flight;
        *now += 1;
        *most = (*most).max(*now);
        s.settings.portal_delay_ms
    };
    if delay > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
    }
    let mut s = lock(&state);
    s.roles_in_flight.0 = s.roles_in_flight.0.saturating_sub(1);
    if let Err(r) = bearer(&s, &headers) {
        return r;
    }
    let Some(account) = q
        .get("account_id")
        .and_then(|id| s.settings.portal_accounts.iter().find(|a| &a.id == id))
    else {
        return json_error(403, "ForbiddenException", "No access");
    };
    let items = account
        .roles
        .iter()
        .map(|r| json!({"roleName": r, "accountId": account.id}))
        .collect();
    paged("roleList", items, &q, s.settings.portal_page_size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_each_other_to_the_end() {
        let items: Vec<Value> = (0..5).map(|i| json!(i)).collect();
        let mut q = HashMap::from([("max_result".to_string(), "100".to_string())]);
        let mut seen = Vec::new();
        loop {
            let (list, next) = page(items.clone(), &q, 2).unwrap();
            seen.extend(list);
            match next {
                Some(t) => q.insert("next_token".into(), t),
                None => break,
            };
        }
        assert_eq!(seen, items);
        q.insert("next_token".into(), "bogus".into());
        assert!(page(items, &q, 2).is_err());
    }
}
