//! The multi-cluster layout: `config/clusters/<c>/cluster.yaml` + shared charts in
//! `helm-charts/<chart>/`. `deploy.yaml` is optional here. Every file is read through a
//! [`Tree`]: the work tree, or for `deploy plan --head REV` that revision.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::charts::ChartGraph;
use super::cluster::{CLUSTERS_DIR, Cluster};
use super::deploy_yaml::DEPLOY_YAML;
use super::deploy_yaml::DeployYaml;
use super::error::{ConfigError, ConfigErrors};
use super::tree::{Tree, WorkTree};

pub const HELM_CHARTS_DIR: &str = "helm-charts";

#[derive(Clone, Debug)]
pub struct MultiRepo {
    /// The checkout (commands run here), whichever tree the config is read from.
    pub root: PathBuf,
    pub settings: DeployYaml,
    /// Folders of config/clusters/ holding a cluster.yaml directly (not deeper), sorted.
    pub cluster_names: Vec<String>,
    /// Set by [`MultiRepo::load_lenient`]: deploy.yaml did not load (defaults are used).
    pub settings_error: Option<ConfigError>,
    /// Set by [`MultiRepo::load_lenient`]: cluster folders whose names are not valid (left out).
    pub folder_problems: Vec<ConfigError>,
    /// Where the config is read from.
    tree: Arc<dyn Tree>,
    /// Each file read once per process, however many steps need it.
    cache: Arc<Cache>,
    /// Whether a cluster.yaml's text is let go once it parsed ([`MultiRepo::let_go_of_texts`]).
    let_go_of_texts: bool,
}

/// A cluster.yaml as this process read it: its text, and once asked for, its parse.
#[derive(Debug)]
struct ClusterEntry {
    /// The text as read; `None` when it was let go once parsed ([`MultiRepo::let_go_of_texts`]).
    text: Option<Result<String, ConfigError>>,
    parsed: Option<Result<Arc<Cluster>, ConfigError>>,
}

/// What this process read of the repo: each cluster.yaml's text and parse, each other text file.
#[derive(Debug, Default)]
struct Cache {
    clusters: Mutex<HashMap<String, Arc<ClusterEntry>>>,
    texts: Mutex<HashMap<String, Option<Arc<str>>>>,
}

/// Cluster folders: exactly `config/clusters/*/cluster.yaml`, one level down (2i2c keeps a
/// Jinja template deeper that is not YAML), sorted; and a problem for each folder whose name is
/// not a valid cluster name (it would reach log lines, temp folder names and matrix jobs).
fn cluster_folders(tree: &dyn Tree) -> (Vec<String>, Vec<ConfigError>) {
    let mut names = Vec::new();
    let mut problems = Vec::new();
    for raw in tree.folders_with(CLUSTERS_DIR, "cluster.yaml") {
        let checked = raw
            .to_str()
            .ok_or_else(|| format!("cluster folder name {raw:?} is not UTF-8"))
            .and_then(|n| super::names::check_cluster_name(n).map(|()| n.to_string()));
        match checked {
            Ok(n) => names.push(n),
            Err(m) => problems.push(ConfigError::new(tree.locate(CLUSTERS_DIR), m)),
        }
    }
    names.sort();
    problems.sort_by(|a, b| a.message.cmp(&b.message));
    (names, problems)
}

impl MultiRepo {
    /// Whether `root` uses this layout.
    pub fn detect(root: &Path) -> bool {
        // a folder with a cluster.yaml, whether its name is valid or not (loading says which):
        // the first one found is enough, not one look per cluster
        WorkTree::new(root)
            .each_folder_with(CLUSTERS_DIR, "cluster.yaml")
            .next()
            .is_some()
    }

    fn load_settings(tree: &dyn Tree) -> Result<DeployYaml, ConfigError> {
        let located = |e: ConfigError| ConfigError {
            file: tree.locate(&e.file),
            ..e
        };
        Ok(match tree.read(DEPLOY_YAML).map_err(located)? {
            Some(text) => {
                let s: DeployYaml = super::yaml::from_str(DEPLOY_YAML, &text).map_err(located)?;
                s.check(DEPLOY_YAML).map_err(located)?;
                s
            }
            None => DeployYaml::default(),
        })
    }

    pub fn load(root: &Path) -> Result<MultiRepo, ConfigError> {
        MultiRepo::load_from(root, Arc::new(WorkTree::new(root)))
    }

    /// The repo checked out at `root`, its config (deploy.yaml, cluster files, charts) read from
    /// `tree`: what `deploy plan --head REV` plans with.
    pub fn load_from(root: &Path, tree: Arc<dyn Tree>) -> Result<MultiRepo, ConfigError> {
        let settings = MultiRepo::load_settings(tree.as_ref())?;
        let (cluster_names, mut problems) = cluster_folders(tree.as_ref());
        if !problems.is_empty() {
            return Err(problems.swap_remove(0));
        }
        Ok(MultiRepo {
            root: root.to_path_buf(),
            settings,
            cluster_names,
            settings_error: None,
            folder_problems: Vec::new(),
            tree,
            cache: Arc::default(),
            let_go_of_texts: false,
        })
    }

    /// Like [`MultiRepo::load`], but a broken deploy.yaml is kept as an error to report with the
    /// rest (`deploy validate` lists every problem at once).
    pub fn load_lenient(root: &Path) -> MultiRepo {
        let tree = WorkTree::new(root);
        let (cluster_names, folder_problems) = cluster_folders(&tree);
        let (settings, settings_error) = match MultiRepo::load_settings(&tree) {
            Ok(s) => (s, None),
            Err(e) => (DeployYaml::default(), Some(e)),
        };
        MultiRepo {
            root: root.to_path_buf(),
            settings,
            cluster_names,
            settings_error,
            folder_problems,
            tree: Arc::new(tree),
            cache: Arc::default(),
            let_go_of_texts: false,
        }
    }

    /// Where the config is read from.
    pub fn tree(&self) -> &dyn Tree {
        self.tree.as_ref()
    }

    /// `e`, its file named as the tree names it (`REV:path` at a revision).
    fn located(&self, e: ConfigError) -> ConfigError {
        ConfigError {
            file: self.tree.locate(&e.file),
            ..e
        }
    }

    /// How long helm and each rollout may take: the `--timeout` given, else deploy.yaml's
    /// `helm.timeout`, else helm's own 10m.
    pub fn helm_timeout(&self, flag: Option<&super::duration::GoDuration>) -> String {
        flag.cloned()
            .or_else(|| self.settings.helm.timeout.clone())
            .unwrap_or_default()
            .to_string()
    }

    pub fn has_cluster(&self, name: &str) -> bool {
        self.cluster_names
            .binary_search_by(|n| n.as_str().cmp(name))
            .is_ok()
    }

    /// Read and parse the named clusters, in parallel; all problems are reported together.
    pub fn load_clusters(&self, names: &[String]) -> Result<Vec<Arc<Cluster>>, ConfigErrors> {
        let loaded = self.load_clusters_with(names, |_| ())?;
        Ok(loaded.into_iter().map(|(c, ())| c).collect())
    }

    /// `load_clusters`, and `each` of every cluster loaded, on the thread that parsed it (while
    /// its data are fresh in that core's cache, and in parallel with the other clusters).
    pub fn load_clusters_with<R: Send>(
        &self,
        names: &[String],
        each: impl Fn(&Cluster) -> R + Sync,
    ) -> Result<Vec<(Arc<Cluster>, R)>, ConfigErrors> {
        let paths: Vec<String> = names.iter().map(|n| Cluster::yaml_path(n)).collect();
        self.tree.prefetch(&paths);
        let threads = crate::parallel::cores();
        let results = crate::parallel::map(threads, names, |n| {
            // a bug in the loader is reported as one, not as a crash of the whole process
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let c = self.load_cluster(n)?;
                let r = each(&c);
                Ok((c, r))
            }))
            .unwrap_or_else(|_| {
                Err(ConfigError::new(
                    Cluster::yaml_path(n),
                    "internal error: its loader panicked",
                ))
            })
        });
        let mut clusters = Vec::with_capacity(results.len());
        let mut errors = Vec::new();
        for r in results {
            match r {
                Ok(c) => clusters.push(c),
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() {
            Ok(clusters)
        } else {
            Err(ConfigErrors(errors))
        }
    }

    /// A cluster.yaml's text (read once per process, unless it was let go after parsing: then
    /// read again).
    pub fn cluster_text(&self, name: &str) -> Result<String, ConfigError> {
        match &self.cluster_entry(name, false).text {
            Some(text) => text.clone(),
            None => self.read_cluster(name),
        }
    }

    /// From now on, let a cluster.yaml's text go once it parsed, unless it was asked for before
    /// ([`MultiRepo::keep_cluster_texts`]): for a process that reads no text after parsing. A
    /// plan of 5000 hubs reads 1 MB of cluster files, and compares the text of only those whose
    /// cluster.yaml changed; the memory it frees is reused for the next cluster (page faults are
    /// a quarter of the plan's time). A text let go and asked for later is read again.
    pub fn let_go_of_texts(&mut self) {
        self.let_go_of_texts = true;
    }

    /// Read these clusters' texts now and keep them after parsing: the texts a plan compares
    /// with the base must be the ones the clusters were loaded from.
    pub fn keep_cluster_texts(&self, names: &[&str]) {
        for name in names {
            self.cluster_entry(name, false);
        }
    }

    /// A cluster, parsed (read and parsed once per process, shared: not copied for each caller).
    pub fn load_cluster(&self, name: &str) -> Result<Arc<Cluster>, ConfigError> {
        match &self.cluster_entry(name, true).parsed {
            Some(parsed) => parsed.clone(),
            None => unreachable!("parsed on request"),
        }
    }

    fn read_cluster(&self, name: &str) -> Result<String, ConfigError> {
        let path = Cluster::yaml_path(name);
        match self.tree.read(&path) {
            Ok(Some(t)) => Ok(t),
            Ok(None) => Err(ConfigError::new(path, "does not exist")),
            Err(e) => Err(e),
        }
        .map_err(|e| self.located(e))
    }

    fn cluster_entry(&self, name: &str, parse: bool) -> Arc<ClusterEntry> {
        let lock = || {
            self.cache
                .clusters
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        // (taken out first: a lock taken in a `match`'s scrutinee is held to the match's end,
        // which held it while the file was read, and made the loader threads take turns)
        let before = lock().get(name).cloned();
        let kept = match before {
            Some(e) if e.parsed.is_some() || !parse => return e,
            Some(e) => e.text.clone(),
            None => None,
        };
        let asked_for_text = kept.is_some() || !parse;
        let text = kept.unwrap_or_else(|| self.read_cluster(name));
        let parsed = parse.then(|| {
            text.as_ref().map_err(Clone::clone).and_then(|t| {
                Cluster::parse(name, t)
                    .map(Arc::new)
                    .map_err(|e| self.located(e))
            })
        });
        let let_go = self.let_go_of_texts && !asked_for_text && matches!(parsed, Some(Ok(_)));
        let entry = Arc::new(ClusterEntry {
            text: (!let_go).then_some(text),
            parsed,
        });
        lock().insert(name.to_string(), Arc::clone(&entry));
        entry
    }

    /// A work-tree file's text when this process has read it already ([`MultiRepo::text`]);
    /// `None` when it has not, or when the config is read from a revision.
    pub fn read_already(&self, rel: &str) -> Option<Arc<str>> {
        if !self.tree.is_work_tree() {
            return None;
        }
        self.cache
            .texts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(rel)
            .cloned()
            .flatten()
    }

    /// A repo file's text, read once per process; `None` when it cannot be read as text.
    pub fn text(&self, rel: &str) -> Option<Arc<str>> {
        let lock = || {
            self.cache
                .texts
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        if let Some(t) = lock().get(rel) {
            return t.clone();
        }
        let t: Option<Arc<str>> = self.tree.read(rel).ok().flatten().map(Arc::from);
        lock().insert(rel.to_string(), t.clone());
        t
    }

    /// The shared charts (`helm-charts/<chart>/` with a Chart.yaml) and their local dependencies.
    pub fn charts(&self) -> Result<ChartGraph, ConfigError> {
        let dirs: Vec<String> = self
            .tree
            .folders_with(HELM_CHARTS_DIR, "Chart.yaml")
            .into_iter()
            .filter_map(|n| n.into_string().ok())
            .map(|n| format!("{HELM_CHARTS_DIR}/{n}"))
            .collect();
        let files: Vec<String> = dirs.iter().map(|d| format!("{d}/Chart.yaml")).collect();
        self.tree.prefetch(&files);
        ChartGraph::load_from(self.tree.as_ref(), dirs).map_err(|e| self.located(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_text_can_be_let_go_after_parsing_unless_it_was_asked_for_first() {
        let tmp = tempfile::tempdir().unwrap();
        for c in ["a", "b"] {
            let dir = tmp.path().join("config/clusters").join(c);
            std::fs::create_dir_all(&dir).unwrap();
            let text = format!("name: {c}\nprovider: kubeconfig\nkubeconfig: {{file: k.yaml}}\n");
            std::fs::write(dir.join("cluster.yaml"), text).unwrap();
        }
        // by default, every text is kept
        let kept = MultiRepo::load(tmp.path()).unwrap();
        kept.load_clusters(&["a".into(), "b".into()]).unwrap();
        assert!(kept.cluster_entry("b", false).text.is_some());
        let mut repo = MultiRepo::load(tmp.path()).unwrap();
        repo.let_go_of_texts();
        let text = |c: &str| repo.cluster_entry(c, false).text.clone();
        repo.keep_cluster_texts(&["a"]);
        repo.load_clusters(&["a".into(), "b".into()]).unwrap();
        let a = Some(Ok(
            "name: a\nprovider: kubeconfig\nkubeconfig: {file: k.yaml}\n".into(),
        ));
        assert_eq!(text("a"), a, "asked for first: kept");
        assert_eq!(text("b"), None, "only parsed: let go");
        // changed on disk since: the kept text is the one `a` was loaded from; a text let go is
        // read again when asked for
        for c in ["a", "b"] {
            let file = tmp.path().join(format!("config/clusters/{c}/cluster.yaml"));
            std::fs::write(file, "changed\n").unwrap();
        }
        assert_eq!(repo.cluster_text("a").ok(), a.and_then(Result::ok));
        assert_eq!(repo.cluster_text("b").ok().as_deref(), Some("changed\n"));
        assert_eq!(repo.load_cluster("b").unwrap().name, "b", "parsed once");
        // a file that does not parse keeps its text (its error is about it)
        let dir = tmp.path().join("config/clusters/c");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("cluster.yaml"), "name: [\n").unwrap();
        assert!(repo.load_cluster("c").is_err());
        assert_eq!(text("c"), Some(Ok("name: [\n".to_string())));
    }

    #[test]
    fn a_file_read_once_is_known_to_later_readers_of_the_work_tree_only() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("config/clusters/a");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("cluster.yaml"), "name: a\nprovider: none\n").unwrap();
        std::fs::write(dir.join("hub.values.yaml"), "x: 1\n").unwrap();
        let repo = MultiRepo::load(tmp.path()).unwrap();
        let rel = "config/clusters/a/hub.values.yaml";
        assert_eq!(repo.read_already(rel), None, "not read yet");
        assert_eq!(repo.text(rel).as_deref(), Some("x: 1\n"));
        // changed on disk since: the text as read is what the checks see, not read again
        std::fs::write(dir.join("hub.values.yaml"), "x: 2\n").unwrap();
        assert_eq!(repo.read_already(rel).as_deref(), Some("x: 1\n"));
        assert_eq!(repo.read_already("config/clusters/a/missing.yaml"), None);
        // read from another tree (a revision), a text is not the file on disk
        #[derive(Debug)]
        struct Revision(WorkTree);
        impl Tree for Revision {
            fn describe(&self) -> String {
                "revision".into()
            }
            fn read(&self, rel: &str) -> Result<Option<String>, ConfigError> {
                self.0.read(rel)
            }
            fn exists(&self, rel: &str) -> bool {
                self.0.exists(rel)
            }
            fn is_dir(&self, rel: &str) -> bool {
                self.0.is_dir(rel)
            }
            fn is_file(&self, rel: &str) -> bool {
                self.0.is_file(rel)
            }
            fn folders_with(&self, rel: &str, file: &str) -> Vec<std::ffi::OsString> {
                self.0.folders_with(rel, file)
            }
        }
        let at_rev =
            MultiRepo::load_from(tmp.path(), Arc::new(Revision(WorkTree::new(tmp.path()))))
                .unwrap();
        assert!(at_rev.text(rel).is_some());
        assert_eq!(at_rev.read_already(rel), None);
    }
}
