//! The API description: an OpenAPI 3.1 document generated from the code,
//! served at `GET /openapi.json` under the base path.
//!
//! The schemas are the wire types' own ([`crate::wire`], `ToSchema`); each
//! operation is the `#[utoipa::path]` attribute on its handler. What every
//! operation shares is added here once ([`conventions`]): the bearer
//! scheme, the error body on every 4xx/5xx answer, and the answers any
//! request may get (401 and 429 where a token is needed, 403 on admin
//! routes, 400/413/415 where a body is read, 400 where a query is, 404
//! where a path names something, 500 and the request timeout's 503).
//! `tests/it/ops.rs` holds the document to the router: every route is
//! described and every described route exists.

use super::{admin, admin_pdb, locations, login, maintenance, ops, outbound, sessions, v0};
use serde_json::{json, Map, Value};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "peerd: Peering API",
        description = "The receiving side of the Peering API (draft-ietf-grow-peering-api): other networks request BGP sessions here; peerd validates them, decides (policy or an operator), pushes the neighbor config to the router and reports its status.\n\nAuthenticate with `Authorization: Bearer <token>`: a PeeringDB OAuth access token, a peerd token from the PeeringDB login (`/auth/login`), or an operator key (admin routes). Every error answer is `{\"errors\": [{\"name\": \"<field path or 'request'>\", \"errors\": [\"message\"]}]}`.\n\nSession fields follow draft -01: `local_*` is the requester, `peer_*` is us. `session_secret` (alias `md5`) is never sent back in clear.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    paths(
        locations::list,
        sessions::create,
        sessions::list,
        sessions::get_one,
        sessions::delete,
        v0::list_locations,
        v0::add_sessions,
        v0::get_status,
        maintenance::list,
        maintenance::list_v0,
        maintenance::admin_list,
        maintenance::admin_create,
        maintenance::admin_end,
        login::start_v0,
        login::start,
        login::callback,
        login::revoke,
        admin::list,
        admin::get_one,
        admin::approve,
        admin::reject,
        admin::retry,
        admin::force_remove,
        admin::audit,
        admin::jobs,
        admin::metrics,
        admin_pdb::tokens,
        admin_pdb::revoke_token,
        admin_pdb::peeringdb,
        admin_pdb::sync,
        outbound::request,
        outbound::state,
        outbound::login,
        ops::healthz,
        ops::readyz,
        ops::metrics,
        openapi_json,
    ),
    components(schemas(crate::wire::ErrorBody, crate::wire::FieldError)),
    tags(
        (name = "sessions", description = "Draft -01: request, list, read and delete sessions."),
        (name = "locations", description = "Draft -01: where we peer."),
        (name = "v0", description = "The proof of concept's routes, in its exact shapes."),
        (name = "login", description = "Peer login with PeeringDB (OAuth 2 authorization code + PKCE); issues peerd tokens."),
        (name = "admin", description = "Operators only (operator API keys): every session, approve, reject, retry, force remove, audit, the queue, peer tokens, PeeringDB data."),
        (name = "operations", description = "Health, readiness, metrics and this document. No token."),
    )
)]
struct ApiDoc;

/// `GET /openapi.json`.
#[utoipa::path(
    get, path = "/openapi.json", tag = "operations", operation_id = "openapi",
    summary = "This document",
    description = "The OpenAPI 3.1 description of this server's API, generated from its code.",
    responses((status = 200, description = "The document.", content_type = "application/json", body = Object)),
    security(())
)]
#[allow(dead_code)] // described here; served by `server` from `document`
fn openapi_json() {}

/// The document for a server whose routes are under `base` (normalised:
/// `""` or `/api`).
pub fn document(base: &str) -> Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).expect("the document serializes");
    conventions(&mut doc);
    doc["servers"] = json!([{
        "url": if base.is_empty() { "/" } else { base },
        "description": "This server (the configured base path)."
    }]);
    doc
}

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    })
}

/// Adds what every operation shares (see the module doc).
fn conventions(doc: &mut Value) {
    doc["components"]["securitySchemes"]["bearer"] = json!({
        "type": "http",
        "scheme": "bearer",
        "description": "A PeeringDB OAuth access token, a peerd token (`pd_...`, from `/auth/login`) or an operator key (`peerd_op_...`)."
    });
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for op in item.values_mut().filter_map(Value::as_object_mut) {
            add_shared_answers(op);
        }
    }
}

fn add_shared_answers(op: &mut Map<String, Value>) {
    let bearer = op
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
    let admin = op
        .get("tags")
        .and_then(Value::as_array)
        .is_some_and(|t| t.iter().any(|t| t == "admin"));
    let body = op.contains_key("requestBody");
    let params_in = |place: &str| {
        op.get("parameters")
            .and_then(Value::as_array)
            .is_some_and(|ps| ps.iter().any(|p| p["in"] == place))
    };
    let (query, path) = (params_in("query"), params_in("path"));
    let mut add: Vec<(&str, Value)> = Vec::new();
    if bearer {
        add.push((
            "400",
            error_response("Invalid request (e.g. more than one `Authorization` header)."),
        ));
        let mut unauthorized = error_response(
            "No bearer token, or one that is not valid (unknown, expired, revoked).",
        );
        unauthorized["headers"] = json!({"WWW-Authenticate": {
            "description": "`Bearer realm=\"peerd\"` (with `error=\"invalid_token\"` for a token that is not valid).",
            "schema": {"type": "string"}
        }});
        add.push(("401", unauthorized));
        let mut limited = error_response(
            "Too many requests from this caller, or too many new tokens from this address.",
        );
        limited["headers"] = json!({"Retry-After": {
            "description": "Seconds to wait (sent with the per-address token budget).",
            "schema": {"type": "integer"}
        }});
        add.push(("429", limited));
    }
    if admin {
        add.push(("403", error_response("Not an operator key.")));
    }
    if body {
        add.push((
            "400",
            error_response("The body is not valid JSON or not the expected shape."),
        ));
        add.push((
            "413",
            error_response("The body is larger than `limits.max_body_bytes`."),
        ));
        add.push((
            "415",
            error_response("The body is not JSON (`Content-Type: application/json`)."),
        ));
    }
    if query {
        add.push((
            "400",
            error_response("An invalid or unknown query parameter."),
        ));
    }
    if path {
        add.push(("404", error_response("Not found.")));
    }
    add.push((
        "500",
        error_response("Internal error; the detail is in the server log."),
    ));
    add.push(("503", error_response("Unavailable: the request took longer than `limits.request_timeout_secs`, or the store or PeeringDB cannot be reached; try again.")));
    let responses = op
        .entry("responses")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("responses is an object");
    for (code, r) in add {
        responses.entry(code).or_insert(r);
    }
    // a described error answer without a body carries the error body
    for (code, r) in responses.iter_mut() {
        if code.starts_with(['4', '5']) && r.get("content").is_none() {
            let d = r["description"].as_str().unwrap_or_default().to_string();
            let headers = r.get("headers").cloned();
            *r = error_response(&d);
            if let Some(h) = headers {
                r["headers"] = h;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_answers_and_the_base_path() {
        let doc = document("/api");
        assert_eq!(doc["openapi"], "3.1.0");
        assert_eq!(doc["servers"][0]["url"], "/api");
        assert_eq!(document("")["servers"][0]["url"], "/");
        let get = &doc["paths"]["/sessions/{session_id}"]["get"];
        for code in ["401", "404", "429", "500", "503"] {
            assert_eq!(
                get["responses"][code]["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/ErrorBody",
                "{code}"
            );
        }
        let approve = &doc["paths"]["/admin/sessions/{session_id}/approve"]["post"];
        assert!(approve["responses"]["403"].is_object());
        let create = &doc["paths"]["/sessions"]["post"];
        for code in ["413", "415"] {
            assert!(create["responses"][code].is_object(), "{code}");
        }
        let health = &doc["paths"]["/healthz"]["get"];
        assert!(health["responses"]["401"].is_null());
        assert_eq!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
    }

    #[test]
    fn limits_in_the_schemas_are_the_validators() {
        let doc = document("");
        let s = &doc["components"]["schemas"]["SessionIn"]["properties"];
        assert_eq!(
            s["session_secret"]["maxLength"],
            crate::validate::text::SECRET_MAX
        );
        let body = &doc["components"]["schemas"]["CreateBody"]["oneOf"][1]["properties"];
        assert_eq!(
            body["return_url"]["maxLength"],
            crate::validate::text::RETURN_URL_MAX
        );
    }
}
