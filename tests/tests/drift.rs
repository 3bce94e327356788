//! The three lists of functions cannot drift apart: the workspace's function crates,
//! the Rust functions of template.yaml (with their routes) and the `cargo lambda
//! watch` router of `make dev`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn cargo_toml() -> toml::Value {
    std::fs::read_to_string(root().join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap()
}

fn workspace_functions() -> BTreeSet<String> {
    cargo_toml()["workspace"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m.as_str().unwrap().strip_prefix("functions/"))
        .map(str::to_string)
        .collect()
}

/// Route path -> function, from `[workspace.metadata.lambda.watch.router]`.
fn watch_routes() -> BTreeMap<String, String> {
    cargo_toml()["workspace"]["metadata"]["lambda"]["watch"]["router"]
        .as_table()
        .unwrap()
        .iter()
        .map(|(path, function)| (path.clone(), function.as_str().unwrap().to_string()))
        .collect()
}

/// Binary -> routes ("METHOD /path") of every rust-cargolambda function in template.yaml.
fn template_functions() -> BTreeMap<String, BTreeSet<String>> {
    let template: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(root().join("template.yaml")).unwrap()).unwrap();
    let mut functions = BTreeMap::new();
    for (_, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"] != "AWS::Serverless::Function" || resource["Metadata"]["BuildMethod"] != "rust-cargolambda"
        {
            continue;
        }
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .expect("a Binary")
            .to_string();
        let mut routes = BTreeSet::new();
        if let Some(events) = resource["Properties"]["Events"].as_mapping() {
            for (_, event) in events {
                if event["Type"] == "HttpApi" {
                    let properties = &event["Properties"];
                    routes.insert(format!(
                        "{} {}",
                        properties["Method"].as_str().unwrap().to_uppercase(),
                        properties["Path"].as_str().unwrap()
                    ));
                }
            }
        }
        assert!(
            functions.insert(binary.clone(), routes).is_none(),
            "{binary} twice in template.yaml"
        );
    }
    functions
}

#[test]
fn every_workspace_function_is_in_the_template_and_vice_versa() {
    let in_template: BTreeSet<String> = template_functions().keys().cloned().collect();
    assert_eq!(workspace_functions(), in_template);
}

#[test]
fn the_watch_router_and_the_template_serve_the_same_routes_with_the_same_functions() {
    let template = template_functions();
    let mut template_paths = BTreeMap::new();
    for (function, routes) in &template {
        for route in routes {
            let path = route.split_once(' ').unwrap().1.to_string();
            template_paths.insert(path, function.clone());
        }
    }
    // Each routed path leads to the same function in both places.
    let watch = watch_routes();
    assert_eq!(watch, template_paths);
    // Every workspace function but the authorizer and admin (invoked, not routed) is routed.
    let routed: BTreeSet<String> = watch.values().cloned().collect();
    let mut expected = workspace_functions();
    expected.remove("authorizer");
    expected.remove("admin");
    assert_eq!(routed, expected);
}
