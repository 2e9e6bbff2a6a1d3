//! The one-time HTTPS form for `/keys add` on Telegram, on the bot's own HTTP server
//! (TLS is the reverse proxy's: see deploy/nginx). `GET /keys/form/TOKEN` shows the form
//! in the chat's language; `POST /keys/form/TOKEN` (`application/x-www-form-urlencoded`,
//! at most [`BODY_LIMIT`] bytes) hands the fields to [`Commands::submit_web_form`], which
//! checks the CSRF value, takes the link once and runs `/keys add`.
//!
//! Every answer carries `Cache-Control: no-store` and headers that keep the page out of
//! frames, other origins' forms and referrers. Neither the token nor a submitted value
//! is logged here (the HTTP libraries log at DEBUG at most, without URIs or bodies; see
//! `logging.rs`) or shown on an error page.

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chainsignal_commands::Commands;
use chainsignal_commands::web_form::{PageKind, WebForm, WebFormPage};
use secrecy::SecretString;
use zeroize::Zeroize;

/// Largest body a submission may have: the fields are a few hundred bytes.
pub const BODY_LIMIT: usize = 8 * 1024;

/// The page's Content-Security-Policy: nothing loaded from anywhere, inline styles only,
/// the form posts back to this origin, no framing.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The form's routes, to merge into the bot's HTTP router.
pub fn router(commands: Commands) -> Router {
    Router::new()
        .route("/keys/form/{token}", get(show).post(submit))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::map_response(secure))
        .with_state(commands)
}

/// The headers every answer of the form carries.
async fn secure(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CACHE_CONTROL, "no-store"),
        (header::PRAGMA, "no-cache"),
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

async fn show(State(commands): State<Commands>, token: Result<Path<String>, PathRejection>) -> Response {
    match token {
        Ok(Path(token)) => render(&commands.web_form(&token).await),
        Err(_) => plain(&commands, PageKind::Gone, "keys-form-gone"),
    }
}

async fn submit(
    State(commands): State<Commands>,
    token: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Ok(Path(token)) = token else {
        return plain(&commands, PageKind::Gone, "keys-form-gone");
    };
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"));
    let body = match body {
        Ok(body) if is_form => body,
        Ok(_) => return plain(&commands, PageKind::BadRequest, "keys-form-bad"),
        Err(e) => {
            let mut page = plain(&commands, PageKind::BadRequest, "keys-form-bad");
            *page.status_mut() = e.status();
            return page;
        }
    };
    let Some((csrf, fields)) = parse(body) else {
        return plain(&commands, PageKind::BadRequest, "keys-form-bad");
    };
    render(&commands.submit_web_form(&token, csrf.as_deref(), fields).await)
}

/// A form body read: the CSRF value, and the other fields with their values as secrets.
type Submission = (Option<String>, Vec<(String, SecretString)>);

/// The CSRF value and the other fields of a form body; `None` when a field comes twice.
/// The body's bytes are wiped once read.
fn parse(body: Bytes) -> Option<Submission> {
    let mut raw: Vec<u8> = body.into();
    let mut csrf = None;
    let mut fields: Vec<(String, SecretString)> = Vec::new();
    let mut twice = false;
    for (name, value) in form_urlencoded::parse(&raw) {
        let seen = (name == "csrf" && csrf.is_some()) || fields.iter().any(|(n, _)| *n == name);
        twice |= seen;
        if name == "csrf" {
            csrf = Some(value.into_owned());
        } else {
            fields.push((name.into_owned(), SecretString::from(value.into_owned())));
        }
    }
    raw.zeroize();
    (!twice).then_some((csrf, fields))
}

fn status(kind: PageKind) -> StatusCode {
    match kind {
        PageKind::Gone => StatusCode::NOT_FOUND,
        PageKind::Forbidden => StatusCode::FORBIDDEN,
        PageKind::BadRequest => StatusCode::BAD_REQUEST,
        PageKind::Done => StatusCode::OK,
        PageKind::Refused => StatusCode::UNPROCESSABLE_ENTITY,
        PageKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// A page of one localized sentence, in the default language (nothing known yet).
fn plain(commands: &Commands, kind: PageKind, key: &str) -> Response {
    let services = commands.services();
    let locale = services.default_locale;
    render(&WebFormPage::Message {
        kind,
        locale,
        title: services.i18n.t(locale, "keys-form-title"),
        text: services.i18n.t(locale, key),
    })
}

fn render(page: &WebFormPage) -> Response {
    let (code, html) = match page {
        WebFormPage::Form(form) => (StatusCode::OK, form_html(form)),
        WebFormPage::Message {
            kind,
            locale,
            title,
            text,
        } => {
            let paragraphs: String = text
                .split('\n')
                .filter(|p| !p.trim().is_empty())
                .map(|p| format!("<p>{}</p>", escape(p)))
                .collect();
            (status(*kind), document(locale.code(), title, &paragraphs))
        }
    };
    (code, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

fn form_html(form: &WebForm) -> String {
    let mut body = format!(
        "<p>{}</p>\n<form method=\"post\" autocomplete=\"off\">\n",
        escape(&form.intro)
    );
    for field in &form.fields {
        let kind = if field.secret { "password" } else { "text" };
        let value = match (field.secret, field.name, &form.label) {
            (false, "label", Some(label)) => format!(" value=\"{}\"", escape(label)),
            _ => String::new(),
        };
        let required = if field.required { " required" } else { "" };
        body.push_str(&format!(
            "<label for=\"{name}\">{label}</label>\n<input id=\"{name}\" name=\"{name}\" type=\"{kind}\" \
             minlength=\"{min}\" maxlength=\"{max}\" autocomplete=\"off\" autocapitalize=\"off\" \
             spellcheck=\"false\"{required}{value}>\n",
            name = escape(field.name),
            label = escape(&field.label),
            min = if field.required { field.min_len.max(1) } else { 0 },
            max = field.max_len,
        ));
    }
    body.push_str(&format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">\n<button type=\"submit\">{}</button>\n</form>\n",
        escape(&form.csrf),
        escape(&form.submit)
    ));
    document(form.locale.code(), &form.title, &body)
}

fn document(lang: &str, title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n<title>{title}</title>\n<style>{STYLE}</style>\n\
         </head>\n<body>\n<main>\n<h1>{title}</h1>\n{body}</main>\n</body>\n</html>\n",
        lang = escape(lang),
        title = escape(title),
    )
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;padding:1rem;background:#f6f7f9;color:#111}\
main{max-width:28rem;margin:2rem auto;background:#fff;padding:1.5rem;border-radius:.5rem;box-shadow:0 1px 3px #0002}\
h1{font-size:1.25rem;margin-top:0}label{display:block;margin-top:1rem;font-weight:600}\
input{box-sizing:border-box;width:100%;padding:.5rem;margin-top:.25rem;font:inherit}\
button{margin-top:1.5rem;padding:.6rem 1.2rem;font:inherit;cursor:pointer}";

/// Text for HTML content and double-quoted attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn bodies_parse_into_secrets_and_duplicates_are_refused() {
        let (csrf, fields) = parse(Bytes::from_static(b"api_key=K%2B1&secret=S+2&label=&csrf=abc")).unwrap();
        assert_eq!(csrf.as_deref(), Some("abc"));
        let values: Vec<(&str, &str)> = fields
            .iter()
            .map(|(n, v)| (n.as_str(), v.expose_secret()))
            .collect();
        assert_eq!(values, [("api_key", "K+1"), ("secret", "S 2"), ("label", "")]);
        assert!(parse(Bytes::from_static(b"secret=a&secret=b")).is_none());
        assert!(parse(Bytes::from_static(b"csrf=a&csrf=b")).is_none());
        assert!(!format!("{fields:?}").contains("K+1"));
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
