//! The validated request an operation receives.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::Error;
use crate::bindings::arsenal::operation::types as wit;

/// Who is calling.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Who is calling: an API key's name, or in local mode `local-admin` (the admin
    /// token) or `anonymous` (an open read).
    pub principal: String,
    /// The caller's roles.
    pub roles: Vec<String>,
    /// The request id, also in the response's `x-request-id` header.
    pub request_id: String,
    /// Unix time in milliseconds after which the host abandons the call.
    pub deadline_ms: u64,
}

/// One call: validated parameters (defaults applied) and the caller.
#[derive(Debug, Clone)]
pub struct Request {
    params: Map<String, Value>,
    caller: Caller,
}

impl Request {
    pub(crate) fn from_wit(request: wit::Request) -> Result<Request, Error> {
        let params = match serde_json::from_str(&request.params) {
            Ok(Value::Object(params)) => params,
            Ok(_) | Err(_) => {
                return Err(Error::internal(
                    "the host sent parameters that are not a JSON object",
                ));
            }
        };
        let caller = request.caller;
        Ok(Request {
            params,
            caller: Caller {
                principal: caller.principal,
                roles: caller.roles,
                request_id: caller.request_id,
                deadline_ms: caller.deadline_ms,
            },
        })
    }

    /// One parameter, converted to `T`. A declared parameter without a value (optional,
    /// no default) reads as JSON `null`, so ask for an `Option<T>`.
    pub fn param<T: DeserializeOwned>(&self, name: &str) -> Result<T, Error> {
        let value = self.params.get(name).cloned().unwrap_or(Value::Null);
        serde_json::from_value(value)
            .map_err(|error| Error::invalid_params(format!("parameter `{name}`: {error}")))
    }

    /// All parameters, deserialized into one struct.
    pub fn params<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_value(Value::Object(self.params.clone()))
            .map_err(|error| Error::invalid_params(error.to_string()))
    }

    /// All parameters as a JSON object.
    pub fn raw_params(&self) -> &Map<String, Value> {
        &self.params
    }

    /// Who is calling.
    pub fn caller(&self) -> &Caller {
        &self.caller
    }
}
