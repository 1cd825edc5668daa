//! `deploy.yaml`: the repo's settings (what deploy.py hard-coded).

use serde::Deserialize;

use super::duration::GoDuration;

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeployYaml {
    /// Charts `deploy <chart>` accepts; default: discovered from the tree.
    pub charts: Option<Vec<String>>,
    #[serde(default = "default_charts_dir")]
    pub charts_dir: String,
    #[serde(default = "default_images_dir")]
    pub images_dir: String,
    #[serde(default = "default_secrets_dir")]
    pub secrets_dir: String,
    pub gcloud: Option<Gcloud>,
    pub docker: Option<Docker>,
    pub image: Option<Image>,
    #[serde(default)]
    pub helm: Helm,
}

fn default_charts_dir() -> String {
    "hub-charts".into()
}
fn default_images_dir() -> String {
    "user-images".into()
}
fn default_secrets_dir() -> String {
    "secrets".into()
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gcloud {
    pub key_file: String,
    pub cluster: String,
    pub zone: String,
    pub project: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Docker {
    pub username: String,
    pub password_file: String,
    /// The host given to `docker login`; none means Docker Hub's default.
    pub registry: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Image {
    /// Image repository; `{chart}` is replaced by the chart name.
    pub name: String,
    /// Helm value set to the image tag with `--set-string`.
    pub tag_value: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Helm {
    pub timeout: Option<GoDuration>,
}

impl Image {
    pub fn repository(&self, chart: &str) -> String {
        self.name.replace("{chart}", chart)
    }
}
