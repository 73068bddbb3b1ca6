//! The methods each documented path allows, taken from the OpenAPI document, so a request for a
//! known path with another method is answered 405 with `Allow` (RFC 9110 §15.5.6), not 404.

use actix_web::dev::ResourceDef;
use utoipa::openapi::OpenApi;

pub struct AllowedMethods(Vec<(ResourceDef, String)>);

impl AllowedMethods {
    pub fn of(doc: &OpenApi) -> Self {
        let routes = doc
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods = [
                    ("GET", item.get.is_some()),
                    ("PUT", item.put.is_some()),
                    ("POST", item.post.is_some()),
                    ("DELETE", item.delete.is_some()),
                    ("PATCH", item.patch.is_some()),
                ];
                let allow: Vec<&str> = methods
                    .iter()
                    .filter(|(_, served)| *served)
                    .map(|(method, _)| *method)
                    .collect();
                (ResourceDef::new(path.as_str()), allow.join(", "))
            })
            .collect();
        AllowedMethods(routes)
    }

    /// The `Allow` value for a path some route serves, or `None` for a path none does.
    pub fn for_path(&self, path: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(def, _)| def.is_match(path))
            .map(|(_, allow)| allow.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::OpenApi as _;

    #[test]
    fn known_paths_name_their_methods_and_others_none() {
        let allowed = AllowedMethods::of(&crate::app::ApiDoc::openapi());
        assert_eq!(allowed.for_path("/api/v1/me"), Some("GET, PATCH"));
        assert_eq!(allowed.for_path("/api/v1/me/avatar"), Some("PUT, DELETE"));
        assert_eq!(
            allowed.for_path("/api/v1/listings/7"),
            Some("GET, DELETE, PATCH")
        );
        assert_eq!(
            allowed.for_path("/api/v1/listings/7/like"),
            Some("PUT, DELETE")
        );
        assert_eq!(allowed.for_path("/api/v1/nothing"), None);
        assert_eq!(allowed.for_path("/api/v1/listings/7/nothing"), None);
    }
}
