//! `GET /locations`: the places we peer at, from the inventory.
//!
//! With PeeringDB data (a snapshot in use), an exchange (`pdb:ix:<id>`) is
//! listed only where both our ASN and the asking network have a port in
//! PeeringDB. The asking network is `asn` when given, else each ASN the
//! caller acts for (operators without `asn`: no filter). Locations that are
//! not PeeringDB exchanges are listed as in the inventory. Without PeeringDB
//! data every inventory location is listed.

use super::common::{next_token, page_size};
use super::error::ApiError;
use super::extract::{ApiQuery, Auth};
use super::state::AppState;
use crate::inventory::Location;
use crate::model::{Caller, LocationType};
use crate::peeringdb::ix_id;
use crate::wire::{ListLocationsOut, LocationOut};
use axum::extract::State;
use axum::Json;
use base64::Engine;
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LocationsQuery {
    /// The asking network: only exchanges where it and we both have a
    /// port in PeeringDB (default: each ASN the caller acts for).
    #[param(value_type = u64, required = false, maximum = 4294967295_u64)]
    pub asn: Option<u32>,
    /// `public` or `private`.
    #[param(value_type = String, required = false)]
    pub location_type: Option<String>,
    /// Page size, 1 to 100.
    #[param(value_type = i64, required = false, minimum = 1, maximum = 100)]
    pub max_results: Option<i64>,
    /// The `next_token` of the previous page.
    #[param(value_type = String, required = false, pattern = "^[A-Za-z0-9_=-]{1,256}$")]
    pub next_token: Option<String>,
}

/// Checks `asn` (the caller must act for it) and parses `location_type`.
pub fn filter<'i>(
    st: &'i AppState,
    caller: &Caller,
    asn: Option<u32>,
    location_type: Option<&str>,
) -> Result<Vec<&'i Location>, ApiError> {
    if let Some(a) = asn {
        if !caller.may_act_for(a) {
            return Err(ApiError::forbidden(
                "asn",
                format!("you may not act for AS{a}"),
            ));
        }
    }
    let kind = match location_type {
        None | Some("") => None,
        Some(t) => Some(
            LocationType::parse(t)
                .ok_or_else(|| ApiError::invalid("location_type", "must be public or private"))?,
        ),
    };
    let snap = st.snapshot();
    let asking: Vec<u32> = match asn {
        Some(a) => vec![a],
        None if caller.is_operator => vec![],
        None => caller.asns.iter().copied().collect(),
    };
    let ours = st.inventory.asn;
    let in_common = |l: &Location| match (&snap, ix_id(&l.id)) {
        (Some(snap), Some(ix)) if asn.is_some() || !caller.is_operator => {
            snap.present_at(ix, ours) && asking.iter().any(|a| snap.present_at(ix, *a))
        }
        _ => true,
    };
    Ok(st
        .inventory
        .locations
        .iter()
        .filter(|l| kind.is_none_or(|k| l.kind == k))
        .filter(|l| in_common(l))
        .collect())
}

const TOKEN_TAG: &str = "loc1:";

fn encode_offset(n: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{TOKEN_TAG}{n}"))
}

fn decode_offset(t: &str) -> Result<usize, ApiError> {
    let bad = || ApiError::invalid("next_token", "not a token this server issued");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(t)
        .map_err(|_| bad())?;
    let s = String::from_utf8(raw).map_err(|_| bad())?;
    s.strip_prefix(TOKEN_TAG)
        .and_then(|n| n.parse().ok())
        .ok_or_else(bad)
}

/// `GET /locations?asn=&location_type=&max_results=&next_token=`.
#[utoipa::path(
    get, path = "/locations", tag = "locations", operation_id = "listLocations",
    summary = "List peering locations",
    description = "The places we peer at. With PeeringDB data, an exchange is listed only where both networks have a port there.",
    params(LocationsQuery),
    responses(
        (status = 200, description = "One page of locations; `next_token` is absent on the last.", body = ListLocationsOut),
        (status = 400, description = "Invalid parameter."),
        (status = 403, description = "The caller may not act for `asn`."),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(st): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<LocationsQuery>,
) -> Result<Json<ListLocationsOut>, ApiError> {
    let limit = page_size(&st, q.max_results)?;
    let start = match next_token(q.next_token.as_deref())? {
        Some(t) => decode_offset(&t)?,
        None => 0,
    };
    let all = filter(&st, &caller, q.asn, q.location_type.as_deref())?;
    let page: Vec<LocationOut> = all
        .iter()
        .skip(start)
        .take(limit)
        .map(|l| LocationOut::from(*l))
        .collect();
    let end = start + page.len();
    Ok(Json(ListLocationsOut {
        locations: page,
        next_token: (end < all.len()).then(|| encode_offset(end)),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_round_trip() {
        assert_eq!(decode_offset(&encode_offset(42)).unwrap(), 42);
        assert!(decode_offset("bm9wZQ").is_err());
        assert!(decode_offset("!!").is_err());
    }
}
