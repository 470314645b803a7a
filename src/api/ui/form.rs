//! A console form (`application/x-www-form-urlencoded`), bounded by
//! `limits.max_body_bytes`; refusals are small HTML pages, never axum's
//! plain-text rejections.

use super::ctx::UiState;
use super::page;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use axum::response::Response;

/// Fields of a form, in order (a name may repeat: checkboxes).
#[derive(Debug, Default)]
pub struct Form(pub Vec<(String, String)>);

impl Form {
    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The form's `back` field if it is a console path, else `default`.
    pub fn back(&self, ui: &UiState, default: &str) -> String {
        match self.get("back") {
            Some(b) if page::is_console_path(&ui.prefix, b) => b.to_string(),
            _ => ui.url(default),
        }
    }
}

fn refused(status: StatusCode, text: &str) -> Response {
    page::html(
        status,
        format!("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>peerd: refused</title></head><body><main><h1>Refused</h1><p>{text}</p></main></body></html>"),
    )
}

impl FromRequest<UiState> for Form {
    type Rejection = Response;

    async fn from_request(req: Request, ui: &UiState) -> Result<Self, Response> {
        let form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
            .unwrap_or(false);
        if !form {
            return Err(refused(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "a console form is sent as application/x-www-form-urlencoded",
            ));
        }
        let limit = ui.app.settings.limits.max_body_bytes;
        let bytes = Bytes::from_request(req, ui)
            .await
            .map_err(|_| refused(StatusCode::PAYLOAD_TOO_LARGE, "the form is too large"))?;
        if bytes.len() > limit {
            return Err(refused(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the form is too large",
            ));
        }
        Ok(Form(
            form_urlencoded::parse(&bytes)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_fields_are_all_kept() {
        let f = Form(
            form_urlencoded::parse(b"id=a&id=b&reason=not+here&csrf=x%2By")
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        );
        assert_eq!(f.all("id"), ["a", "b"]);
        assert_eq!(f.get("reason"), Some("not here"));
        assert_eq!(f.get("csrf"), Some("x+y"));
        assert_eq!(f.get("nope"), None);
    }
}
