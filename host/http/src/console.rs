//! The web console: a static page and its scripts and styles, embedded in the binary with
//! `include_str!` (no CDN, no build step; it works offline), served at `/` and
//! `/console/<file>`. The page is open to anyone — it holds no data; everything it shows
//! it fetches from the API with the signed-in user's bearer token, and every action it
//! offers is a request to the same endpoints, under the same checks, as any client's.
//!
//! Assets carry a strong `ETag` (a hash of their bytes) with `Cache-Control: no-cache`,
//! so a browser revalidates and gets `304` until the binary changes. A content security
//! policy keeps the page to its own origin.

use std::sync::LazyLock;

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use sha2::{Digest, Sha256};

use super::error::{ApiError, ErrorCode};
use super::extract::Path;

/// Where the assets are served; the page itself is served at `/`.
pub(crate) const ASSET_PREFIX: &str = "/console/";

/// Only the page's own origin: scripts, styles, images (and `data:` ones for the charts),
/// and the API it fetches. No framing.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'none'; base-uri 'none'; \
     frame-ancestors 'none'";

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

/// Every file of the console. `index.html` is the page at `/`.
const ASSETS: &[Asset] = &[
    Asset {
        name: "index.html",
        content_type: "text/html; charset=utf-8",
        body: include_str!("console/index.html"),
    },
    Asset {
        name: "console.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("console/console.css"),
    },
    Asset {
        name: "app.js",
        content_type: JAVASCRIPT,
        body: include_str!("console/app.js"),
    },
    Asset {
        name: "api.js",
        content_type: JAVASCRIPT,
        body: include_str!("console/api.js"),
    },
    Asset {
        name: "explorer.js",
        content_type: JAVASCRIPT,
        body: include_str!("console/explorer.js"),
    },
    Asset {
        name: "live.js",
        content_type: JAVASCRIPT,
        body: include_str!("console/live.js"),
    },
    Asset {
        name: "admin.js",
        content_type: JAVASCRIPT,
        body: include_str!("console/admin.js"),
    },
    Asset {
        name: "storage.js",
        content_type: JAVASCRIPT,
        body: include_str!("console/storage.js"),
    },
    Asset {
        name: "dom.js",
        content_type: JAVASCRIPT,
        body: include_str!("console/dom.js"),
    },
];

/// Each asset's `ETag`, by position in [`ASSETS`]: computed once, on first use.
static ETAGS: LazyLock<Vec<HeaderValue>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|asset| {
            let digest = Sha256::digest(asset.body.as_bytes());
            let tag = format!("\"{}\"", hex::encode(&digest[..12]));
            HeaderValue::from_str(&tag).expect("a hex tag is a valid header value")
        })
        .collect()
});

/// `GET /`: the console page.
pub(super) async fn page(headers: HeaderMap) -> Result<Response, ApiError> {
    serve("index.html", &headers)
}

/// `GET /console/{file}`.
pub(super) async fn asset(
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    serve(&file, &headers)
}

fn serve(name: &str, headers: &HeaderMap) -> Result<Response, ApiError> {
    let Some(index) = ASSETS.iter().position(|asset| asset.name == name) else {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("the console has no file `{name}`"),
        ));
    };
    let asset = &ASSETS[index];
    let etag = ETAGS[index].clone();
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|tag| tag.trim() == etag));
    let common = [
        (header::ETAG, etag),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
    ];
    if fresh {
        return Ok((StatusCode::NOT_MODIFIED, common).into_response());
    }
    Ok((
        common,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        )],
        asset.body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_script_the_page_imports_is_embedded() {
        let embedded = |name: &str| ASSETS.iter().any(|asset| asset.name == name);
        for asset in ASSETS {
            for import in asset
                .body
                .split(['"', '\''])
                .filter(|s| s.starts_with("./") || s.starts_with(ASSET_PREFIX))
            {
                let name = import
                    .trim_start_matches("./")
                    .trim_start_matches(ASSET_PREFIX);
                assert!(
                    embedded(name),
                    "{} refers to {import}, which is not embedded",
                    asset.name
                );
            }
        }
    }

    #[test]
    fn no_asset_reaches_outside_the_origin() {
        for asset in ASSETS {
            // The SVG namespace is a name, not an address.
            let body = asset.body.replace("http://www.w3.org/2000/svg", "");
            for scheme in ["http://", "https://", "//cdn"] {
                assert!(
                    !body.contains(scheme),
                    "{} mentions {scheme}: the console must work offline",
                    asset.name
                );
            }
        }
    }
}
