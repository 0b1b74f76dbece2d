//! Glue called by [`crate::export!`]; not part of the public API.

use crate::bindings::arsenal::operation::types as wit;
use crate::{Operation, Request};

pub fn describe<O: Operation>() -> wit::Config {
    O::config().into_wit()
}

pub fn execute<O: Operation>(request: wit::Request) -> Result<wit::Response, wit::OpError> {
    let request = Request::from_wit(request).map_err(crate::Error::into_wit)?;
    let value = O::execute(request).map_err(crate::Error::into_wit)?;
    match serde_json::to_string(&value) {
        Ok(data) => Ok(wit::Response { data }),
        Err(error) => Err(crate::Error::internal(format!(
            "failed to encode the response: {error}"
        ))
        .into_wit()),
    }
}
