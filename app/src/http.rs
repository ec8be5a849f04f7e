//! The app's one way to the server's REST API: `GET` as text, bytes or a typed answer
//! (`protocol::api`), `POST` and `PUT` of a typed request, and any method with a body of any
//! type ([`send`]). Errors are one line naming the path.

use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// A successful answer for `GET path`.
async fn get_ok(path: &str) -> Result<web_sys::Response, String> {
    let window = web_sys::window().ok_or("no window")?;
    let resp = JsFuture::from(window.fetch_with_str(path)).await.map_err(|e| format!("{path}: {e:?}"))?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| format!("{path}: not a response"))?;
    if !resp.ok() {
        return Err(format!("{path}: HTTP {}", resp.status()));
    }
    Ok(resp)
}

/// The text at `path` on the server.
pub async fn fetch_text(path: &str) -> Result<String, String> {
    let resp = get_ok(path).await?;
    let text = JsFuture::from(resp.text().map_err(|e| format!("{path}: {e:?}"))?)
        .await
        .map_err(|e| format!("{path}: {e:?}"))?;
    text.as_string().ok_or_else(|| format!("{path}: body is not text"))
}

/// The bytes at `path` on the server.
pub async fn fetch_bytes(path: &str) -> Result<Vec<u8>, String> {
    let resp = get_ok(path).await?;
    let buf = JsFuture::from(resp.array_buffer().map_err(|e| format!("{path}: {e:?}"))?)
        .await
        .map_err(|e| format!("{path}: {e:?}"))?;
    Ok(js_sys::Uint8Array::new(&buf).to_vec())
}

/// `path` on the server as JSON of type `T`; a failure keeps the HTTP status (0: no answer),
/// so that a page can tell "log in" (401) from "try again".
pub async fn fetch_json_status<T: DeserializeOwned>(path: &str) -> Result<T, (u16, String)> {
    let window = web_sys::window().ok_or((0, "no window".to_string()))?;
    let resp =
        JsFuture::from(window.fetch_with_str(path)).await.map_err(|e| (0, format!("{path}: {e:?}")))?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| (0, format!("{path}: not a response")))?;
    let status = resp.status();
    let text = JsFuture::from(resp.text().map_err(|e| (status, format!("{path}: {e:?}")))?)
        .await
        .ok()
        .and_then(|t| t.as_string())
        .unwrap_or_default();
    if !resp.ok() {
        return Err((status, format!("{path}: HTTP {status} {text}")));
    }
    serde_json::from_str(&text).map_err(|e| (status, format!("{path}: {e}")))
}

/// `path` on the server, read as JSON of type `T`.
pub async fn fetch_json<T: DeserializeOwned>(path: &str) -> Result<T, String> {
    let text = fetch_text(path).await?;
    serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))
}

/// `POST` `body` as JSON to `path`; the answer as `T`, or the server's error message.
pub async fn post_json<B: Serialize + ?Sized, T: DeserializeOwned>(
    path: &str,
    body: &B,
) -> Result<T, String> {
    let body = serde_json::to_string(body).map_err(|e| format!("{path}: {e}"))?;
    let text = send("POST", path, Some(("application/json", &body))).await?;
    serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))
}

/// `PUT` `body` as JSON to `path`; the answer as `T`, or the server's error message.
pub async fn put_json<B: Serialize + ?Sized, T: DeserializeOwned>(path: &str, body: &B) -> Result<T, String> {
    let body = serde_json::to_string(body).map_err(|e| format!("{path}: {e}"))?;
    let text = send("PUT", path, Some(("application/json", &body))).await?;
    serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))
}

/// Send `method` to `path` with a body of a content type; the answer's text, or the server's
/// error message.
pub async fn send(method: &str, path: &str, body: Option<(&str, &str)>) -> Result<String, String> {
    let resp = request(method, path, body).await?;
    let text =
        JsFuture::from(resp.text().map_err(|e| format!("{e:?}"))?).await.map_err(|e| format!("{e:?}"))?;
    Ok(text.as_string().unwrap_or_default())
}

/// Send `method` to `path` with a body of a content type; the answer when it succeeded (to read
/// as text or as a file), or the server's error message.
pub async fn request(
    method: &str,
    path: &str,
    body: Option<(&str, &str)>,
) -> Result<web_sys::Response, String> {
    let window = web_sys::window().ok_or("no window")?;
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    if let Some((content_type, body)) = body {
        init.set_body(&wasm_bindgen::JsValue::from_str(body));
        let headers = web_sys::Headers::new().map_err(|e| format!("{e:?}"))?;
        headers.set("Content-Type", content_type).map_err(|e| format!("{e:?}"))?;
        init.set_headers(&headers);
    }
    let resp = JsFuture::from(window.fetch_with_str_and_init(path, &init))
        .await
        .map_err(|e| format!("{path}: {e:?}"))?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| format!("{path}: not a response"))?;
    if resp.ok() {
        return Ok(resp);
    }
    let text = match resp.text() {
        Ok(p) => JsFuture::from(p).await.ok().and_then(|t| t.as_string()).unwrap_or_default(),
        Err(_) => String::new(),
    };
    let error: Option<yiping_protocol::api::ErrorAnswer> = serde_json::from_str(&text).ok();
    Err(error.map_or_else(|| format!("HTTP {}", resp.status()), |e| e.error))
}
