//! The route table: an immutable index from (method, path) to an operation, built from
//! validated specs with `matchit`. Conflicts are found while building and reported as
//! data, naming both operations; nothing is published until the table is whole.

use std::collections::BTreeMap;

use http::Method;
use percent_encoding::percent_decode_str;
use serde::Serialize;

use crate::spec::{OperationSpec, Segment};

/// Two operations claiming the same method and path shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("route {method} {path} of `{operation}` conflicts with `{other}` ({other_path})")]
pub struct RouteConflict {
    pub operation: String,
    pub method: String,
    pub path: String,
    /// The operation already holding the route.
    pub other: String,
    pub other_path: String,
}

/// The result of looking up a request.
#[derive(Debug, PartialEq, Eq)]
pub enum RouteMatch {
    /// The operation at this index of the table's input, with its path parameters
    /// (percent-decoded).
    Found {
        operation: usize,
        params: Vec<(String, String)>,
    },
    /// The path exists for other methods.
    MethodNotAllowed {
        allow: Vec<Method>,
    },
    /// A path parameter is not valid UTF-8 once percent-decoded.
    MalformedParam {
        name: String,
    },
    NotFound,
}

#[derive(Debug, Clone)]
struct Entry {
    template: String,
    methods: BTreeMap<String, (usize, Vec<String>, String)>,
}

/// Immutable once built; replaced whole when the set of operations changes.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    router: matchit::Router<usize>,
    entries: Vec<Entry>,
}

impl RouteTable {
    /// Build from `(index, spec)` pairs. Conflicting operations are left out of the table
    /// and reported; the first one declared keeps the route.
    pub fn build<'a>(
        specs: impl IntoIterator<Item = (usize, &'a OperationSpec)>,
    ) -> (RouteTable, Vec<RouteConflict>) {
        let mut table = RouteTable::default();
        let mut conflicts = Vec::new();
        let mut by_shape: BTreeMap<String, usize> = BTreeMap::new();
        for (index, spec) in specs {
            if let Err(conflict) = table.insert(&mut by_shape, index, spec) {
                conflicts.push(conflict);
            }
        }
        (table, conflicts)
    }

    fn insert(
        &mut self,
        by_shape: &mut BTreeMap<String, usize>,
        index: usize,
        spec: &OperationSpec,
    ) -> Result<(), RouteConflict> {
        let shape = spec.route.shape();
        let method = spec.method.to_string();
        let params: Vec<String> = spec.route.param_names().map(str::to_owned).collect();
        let entry_index = match by_shape.get(&shape) {
            Some(&entry_index) => entry_index,
            None => {
                // Parameters are named by position in the router, so two templates with
                // the same shape but different parameter names share one entry.
                let mut position = 0;
                let mut path = String::new();
                for segment in &spec.route.segments {
                    path.push('/');
                    match segment {
                        Segment::Literal(literal) => path.push_str(literal),
                        Segment::Param(_) => {
                            path.push_str(&format!("{{p{position}}}"));
                            position += 1;
                        }
                    }
                }
                let entry_index = self.entries.len();
                if let Err(error) = self.router.insert(path, entry_index) {
                    let other = match &error {
                        matchit::InsertError::Conflict { with } => self.owner_of(with),
                        _ => String::new(),
                    };
                    return Err(RouteConflict {
                        operation: spec.name.clone(),
                        method,
                        path: spec.route.template.clone(),
                        other,
                        other_path: error.to_string(),
                    });
                }
                self.entries.push(Entry {
                    template: spec.route.template.clone(),
                    methods: BTreeMap::new(),
                });
                by_shape.insert(shape, entry_index);
                entry_index
            }
        };
        let entry = &mut self.entries[entry_index];
        if let Some((_, _, other)) = entry.methods.get(&method) {
            return Err(RouteConflict {
                operation: spec.name.clone(),
                method,
                path: spec.route.template.clone(),
                other: other.clone(),
                other_path: entry.template.clone(),
            });
        }
        entry
            .methods
            .insert(method, (index, params, spec.name.clone()));
        Ok(())
    }

    /// The operation owning a router path written in positional form.
    fn owner_of(&self, router_path: &str) -> String {
        self.router
            .at(router_path)
            .ok()
            .and_then(|matched| self.entries.get(*matched.value))
            .and_then(|entry| entry.methods.values().next())
            .map(|(_, _, name)| name.clone())
            .unwrap_or_default()
    }

    /// Find the operation for a request.
    pub fn lookup(&self, method: &Method, path: &str) -> RouteMatch {
        let Ok(matched) = self.router.at(path) else {
            return RouteMatch::NotFound;
        };
        let entry = &self.entries[*matched.value];
        let Some((operation, names, _)) = entry.methods.get(method.as_str()) else {
            let allow = entry
                .methods
                .keys()
                .filter_map(|m| m.parse().ok())
                .collect();
            return RouteMatch::MethodNotAllowed { allow };
        };
        let mut params = Vec::with_capacity(names.len());
        for (name, (_, value)) in names.iter().zip(matched.params.iter()) {
            match percent_decode_str(value).decode_utf8() {
                Ok(value) => params.push((name.clone(), value.into_owned())),
                Err(_) => return RouteMatch::MalformedParam { name: name.clone() },
            }
        }
        RouteMatch::Found {
            operation: *operation,
            params,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Location, ParamType, RawConfig, RawParam};

    fn spec(name: &str, method: &str, path: &str) -> OperationSpec {
        let params = path
            .split('/')
            .filter_map(|segment| segment.strip_prefix(':'))
            .map(|name| RawParam::new(name, Location::Path, ParamType::String))
            .collect();
        OperationSpec::parse(&RawConfig::new(name, method, path, params)).unwrap()
    }

    #[test]
    fn lookup_finds_params_and_methods() {
        let specs = [
            spec("get_thing", "GET", "/api/v1/things/:id"),
            spec("delete_thing", "DELETE", "/api/v1/things/:thing"),
            spec("list_things", "GET", "/api/v1/things"),
            spec("special", "GET", "/api/v1/things/special"),
        ];
        let (table, conflicts) = RouteTable::build(specs.iter().enumerate());
        assert!(conflicts.is_empty(), "{conflicts:?}");
        assert_eq!(
            table.lookup(&Method::GET, "/api/v1/things/a%20b"),
            RouteMatch::Found {
                operation: 0,
                params: vec![("id".into(), "a b".into())]
            }
        );
        assert_eq!(
            table.lookup(&Method::DELETE, "/api/v1/things/x"),
            RouteMatch::Found {
                operation: 1,
                params: vec![("thing".into(), "x".into())]
            }
        );
        assert_eq!(
            table.lookup(&Method::GET, "/api/v1/things/special"),
            RouteMatch::Found {
                operation: 3,
                params: vec![]
            }
        );
        assert_eq!(
            table.lookup(&Method::POST, "/api/v1/things/x"),
            RouteMatch::MethodNotAllowed {
                allow: vec![Method::DELETE, Method::GET]
            }
        );
        assert_eq!(
            table.lookup(&Method::GET, "/api/v1/nothing"),
            RouteMatch::NotFound
        );
        assert_eq!(
            table.lookup(&Method::GET, "/api/v1/things/%FF"),
            RouteMatch::MalformedParam { name: "id".into() }
        );
    }

    #[test]
    fn same_method_and_shape_conflict_naming_both() {
        let specs = [
            spec("route_a", "GET", "/api/v1/x/:a"),
            spec("route_b", "GET", "/api/v1/x/:b"),
        ];
        let (table, conflicts) = RouteTable::build(specs.iter().enumerate());
        assert_eq!(conflicts.len(), 1);
        assert_eq!(conflicts[0].operation, "route_b");
        assert_eq!(conflicts[0].other, "route_a");
        assert_eq!(
            conflicts[0].to_string(),
            "route GET /api/v1/x/:b of `route_b` conflicts with `route_a` (/api/v1/x/:a)"
        );
        assert!(matches!(
            table.lookup(&Method::GET, "/api/v1/x/1"),
            RouteMatch::Found { operation: 0, .. }
        ));
    }
}
