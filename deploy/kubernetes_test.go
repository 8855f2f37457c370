package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/magiconair/properties"
	"gopkg.in/yaml.v3"
)

// The types below mirror the Kubernetes API fields the manifests use, with
// their JSON names. Manifests are decoded strictly (unknown fields fail), so
// a misspelt field such as subpathExpr fails here rather than at apply time.
// A new field in a manifest needs a field here.

type objectMeta struct {
	Name        string            `yaml:"name"`
	Namespace   string            `yaml:"namespace"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type typeMeta struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
}

type cronJob struct {
	typeMeta `yaml:",inline"`
	Metadata objectMeta `yaml:"metadata"`
	Spec     struct {
		Schedule                   string `yaml:"schedule"`
		TimeZone                   string `yaml:"timeZone"`
		ConcurrencyPolicy          string `yaml:"concurrencyPolicy"`
		StartingDeadlineSeconds    *int64 `yaml:"startingDeadlineSeconds"`
		SuccessfulJobsHistoryLimit *int32 `yaml:"successfulJobsHistoryLimit"`
		FailedJobsHistoryLimit     *int32 `yaml:"failedJobsHistoryLimit"`
		Suspend                    *bool  `yaml:"suspend"`
		JobTemplate                struct {
			Metadata objectMeta `yaml:"metadata"`
			Spec     jobSpec    `yaml:"spec"`
		} `yaml:"jobTemplate"`
	} `yaml:"spec"`
}

type jobSpec struct {
	CompletionMode          string            `yaml:"completionMode"`
	Completions             *int32            `yaml:"completions"`
	Parallelism             *int32            `yaml:"parallelism"`
	BackoffLimit            *int32            `yaml:"backoffLimit"`
	BackoffLimitPerIndex    *int32            `yaml:"backoffLimitPerIndex"`
	MaxFailedIndexes        *int32            `yaml:"maxFailedIndexes"`
	ActiveDeadlineSeconds   *int64            `yaml:"activeDeadlineSeconds"`
	TTLSecondsAfterFinished *int32            `yaml:"ttlSecondsAfterFinished"`
	PodFailurePolicy        *podFailurePolicy `yaml:"podFailurePolicy"`
	Template                struct {
		Metadata objectMeta `yaml:"metadata"`
		Spec     podSpec    `yaml:"spec"`
	} `yaml:"template"`
}

type podFailurePolicy struct {
	Rules []struct {
		Action      string `yaml:"action"`
		OnExitCodes *struct {
			ContainerName string  `yaml:"containerName"`
			Operator      string  `yaml:"operator"`
			Values        []int32 `yaml:"values"`
		} `yaml:"onExitCodes"`
		OnPodConditions []struct {
			Type   string `yaml:"type"`
			Status string `yaml:"status"`
		} `yaml:"onPodConditions"`
	} `yaml:"rules"`
}

type podSpec struct {
	RestartPolicy                string            `yaml:"restartPolicy"`
	ServiceAccountName           string            `yaml:"serviceAccountName"`
	AutomountServiceAccountToken *bool             `yaml:"automountServiceAccountToken"`
	NodeSelector                 map[string]string `yaml:"nodeSelector"`
	SecurityContext              struct {
		RunAsNonRoot        *bool  `yaml:"runAsNonRoot"`
		RunAsUser           *int64 `yaml:"runAsUser"`
		RunAsGroup          *int64 `yaml:"runAsGroup"`
		FSGroup             *int64 `yaml:"fsGroup"`
		FSGroupChangePolicy string `yaml:"fsGroupChangePolicy"`
		SeccompProfile      *struct {
			Type string `yaml:"type"`
		} `yaml:"seccompProfile"`
	} `yaml:"securityContext"`
	Containers []container `yaml:"containers"`
	Volumes    []volume    `yaml:"volumes"`
}

type container struct {
	Name            string         `yaml:"name"`
	Image           string         `yaml:"image"`
	ImagePullPolicy string         `yaml:"imagePullPolicy"`
	Command         []string       `yaml:"command"`
	Args            []string       `yaml:"args"`
	Env             []envVar       `yaml:"env"`
	EnvFrom         []envFromEntry `yaml:"envFrom"`
	VolumeMounts    []volumeMount  `yaml:"volumeMounts"`
	SecurityContext struct {
		RunAsNonRoot             *bool `yaml:"runAsNonRoot"`
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
		Capabilities             *struct {
			Drop []string `yaml:"drop"`
			Add  []string `yaml:"add"`
		} `yaml:"capabilities"`
	} `yaml:"securityContext"`
	Resources struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
}

type keyRef struct {
	Name     string `yaml:"name"`
	Key      string `yaml:"key"`
	Optional *bool  `yaml:"optional"`
}

type envVar struct {
	Name      string `yaml:"name"`
	Value     string `yaml:"value"`
	ValueFrom *struct {
		FieldRef *struct {
			FieldPath string `yaml:"fieldPath"`
		} `yaml:"fieldRef"`
		SecretKeyRef    *keyRef `yaml:"secretKeyRef"`
		ConfigMapKeyRef *keyRef `yaml:"configMapKeyRef"`
	} `yaml:"valueFrom"`
}

type envFromEntry struct {
	Prefix    string  `yaml:"prefix"`
	SecretRef *keyRef `yaml:"secretRef"`
}

type volumeMount struct {
	Name        string `yaml:"name"`
	MountPath   string `yaml:"mountPath"`
	SubPath     string `yaml:"subPath"`
	SubPathExpr string `yaml:"subPathExpr"`
	ReadOnly    bool   `yaml:"readOnly"`
}

type volume struct {
	Name      string `yaml:"name"`
	ConfigMap *struct {
		Name string `yaml:"name"`
	} `yaml:"configMap"`
	PersistentVolumeClaim *struct {
		ClaimName string `yaml:"claimName"`
	} `yaml:"persistentVolumeClaim"`
	EmptyDir *struct {
		Medium    string `yaml:"medium"`
		SizeLimit string `yaml:"sizeLimit"`
	} `yaml:"emptyDir"`
}

type configMap struct {
	typeMeta `yaml:",inline"`
	Metadata objectMeta        `yaml:"metadata"`
	Data     map[string]string `yaml:"data"`
}

type secret struct {
	typeMeta   `yaml:",inline"`
	Metadata   objectMeta        `yaml:"metadata"`
	Type       string            `yaml:"type"`
	StringData map[string]string `yaml:"stringData"`
	Data       map[string]string `yaml:"data"`
}

type persistentVolumeClaim struct {
	typeMeta `yaml:",inline"`
	Metadata objectMeta `yaml:"metadata"`
	Spec     struct {
		AccessModes      []string `yaml:"accessModes"`
		StorageClassName *string  `yaml:"storageClassName"`
		Resources        struct {
			Requests map[string]string `yaml:"requests"`
		} `yaml:"resources"`
	} `yaml:"spec"`
}

// manifests is every object of deploy/kubernetes, by kind.
type manifests struct {
	cronJobs   []cronJob
	configMaps []configMap
	secrets    []secret
	pvcs       []persistentVolumeClaim
}

// apiVersions are the versions this folder is written against, by kind.
var apiVersions = map[string]string{
	"CronJob":               "batch/v1",
	"ConfigMap":             "v1",
	"Secret":                "v1",
	"PersistentVolumeClaim": "v1",
}

// loadManifests decodes every document of every *.yaml file under
// kubernetes/, strictly, into the type of its kind.
func loadManifests(t *testing.T) manifests {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("kubernetes", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests under kubernetes/ (%v)", err)
	}
	var m manifests
	for _, f := range files {
		docs, err := splitDocuments(readFile(t, filepath.ToSlash(f)))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for i, doc := range docs {
			if err := m.add(doc); err != nil {
				t.Errorf("%s: document %d: %v", f, i+1, err)
			}
		}
	}
	return m
}

// splitDocuments returns each non-empty YAML document of a stream, re-encoded
// so that it can be decoded strictly on its own.
func splitDocuments(text string) ([][]byte, error) {
	dec := yaml.NewDecoder(strings.NewReader(text))
	var docs [][]byte
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("parse yaml: %w", err)
		}
		b, err := yaml.Marshal(&n)
		if err != nil {
			return nil, fmt.Errorf("re-encode yaml: %w", err)
		}
		docs = append(docs, b)
	}
}

// decodeStrict decodes one document, failing on fields the target lacks.
func decodeStrict(doc []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(doc))
	dec.KnownFields(true)
	return dec.Decode(v)
}

func (m *manifests) add(doc []byte) error {
	var tm typeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return err
	}
	if want, ok := apiVersions[tm.Kind]; !ok {
		return fmt.Errorf("kind %q has no type in this test", tm.Kind)
	} else if tm.APIVersion != want {
		return fmt.Errorf("%s: apiVersion %q, want %q", tm.Kind, tm.APIVersion, want)
	}
	switch tm.Kind {
	case "CronJob":
		return decodeAppend(doc, &m.cronJobs)
	case "ConfigMap":
		return decodeAppend(doc, &m.configMaps)
	case "Secret":
		return decodeAppend(doc, &m.secrets)
	default:
		return decodeAppend(doc, &m.pvcs)
	}
}

func decodeAppend[T any](doc []byte, list *[]T) error {
	var v T
	if err := decodeStrict(doc, &v); err != nil {
		return err
	}
	*list = append(*list, v)
	return nil
}

// only returns the single element of a list, failing the test otherwise.
func only[T any](t *testing.T, what string, list []T) T {
	t.Helper()
	if len(list) != 1 {
		t.Fatalf("want exactly one %s in kubernetes/, found %d", what, len(list))
	}
	return list[0]
}

// rcbsSetup is the one CronJob, its rcbs container and the config it mounts:
// what most checks below look at.
type rcbsSetup struct {
	m         manifests
	job       cronJob
	pod       podSpec
	c         container
	config    *properties.Properties
	configMap configMap
}

func loadSetup(t *testing.T) rcbsSetup {
	t.Helper()
	s := rcbsSetup{m: loadManifests(t)}
	s.job = only(t, "CronJob", s.m.cronJobs)
	s.pod = s.job.Spec.JobTemplate.Spec.Template.Spec
	s.c = only(t, "container in the CronJob's pod", s.pod.Containers)
	s.configMap = only(t, "ConfigMap", s.m.configMaps)
	text, ok := s.configMap.Data["config.properties"]
	if !ok {
		t.Fatalf("ConfigMap %s has no config.properties", s.configMap.Metadata.Name)
	}
	s.config = loadProperties(t, "ConfigMap "+s.configMap.Metadata.Name, text)
	return s
}

// mountFor returns the container's mount of the volume holding path p.
func (s rcbsSetup) mountFor(p string) (volumeMount, bool) {
	var best volumeMount
	for _, vm := range s.c.VolumeMounts {
		inside := p == vm.MountPath || strings.HasPrefix(p, strings.TrimSuffix(vm.MountPath, "/")+"/")
		if inside && len(vm.MountPath) > len(best.MountPath) {
			best = vm
		}
	}
	return best, best.Name != ""
}

func (s rcbsSetup) volume(name string) (volume, bool) {
	for _, v := range s.pod.Volumes {
		if v.Name == name {
			return v, true
		}
	}
	return volume{}, false
}

func (s rcbsSetup) env(name string) (envVar, bool) {
	for _, e := range s.c.Env {
		if e.Name == name {
			return e, true
		}
	}
	return envVar{}, false
}

func TestManifestsDecode(t *testing.T) {
	m := loadManifests(t)
	for kind, n := range map[string]int{
		"CronJob": len(m.cronJobs), "ConfigMap": len(m.configMaps),
		"Secret": len(m.secrets), "PersistentVolumeClaim": len(m.pvcs),
	} {
		if n != 1 {
			t.Errorf("%d objects of kind %s, want 1", n, kind)
		}
	}
}

// TestDecodeStrictRejectsTypos shows that strict decoding catches a misspelt
// field, the reason for the typed structs above.
func TestDecodeStrictRejectsTypos(t *testing.T) {
	tests := []struct {
		doc  string
		fail bool
	}{
		{"name: data\nmountPath: /data\nsubPathExpr: x\n", false},
		{"name: data\nmountPath: /data\nsubpathExpr: x\n", true},
		{"name: data\nmountPath: /data\nreadonly: true\n", true},
	}
	for _, tt := range tests {
		var vm volumeMount
		if err := decodeStrict([]byte(tt.doc), &vm); (err != nil) != tt.fail {
			t.Errorf("%q: error %v, want failure %v", tt.doc, err, tt.fail)
		}
	}
}

func TestCronJobSchedule(t *testing.T) {
	s := loadSetup(t)
	spec := s.job.Spec
	times, err := cronTimes(spec.Schedule)
	if err != nil {
		t.Fatalf("schedule %q: %v", spec.Schedule, err)
	}
	if !slices.Equal(times, wantTimes) {
		t.Errorf("schedule %q runs at %v, want %v", spec.Schedule, times, wantTimes)
	}
	if spec.ConcurrencyPolicy != "Forbid" {
		t.Errorf("concurrencyPolicy %q, want Forbid: two runs at once would find their targetDirs locked", spec.ConcurrencyPolicy)
	}
	if spec.StartingDeadlineSeconds == nil || *spec.StartingDeadlineSeconds <= 0 {
		t.Error("startingDeadlineSeconds unset: a controller outage would start a pile of late runs")
	}
	if spec.SuccessfulJobsHistoryLimit == nil || spec.FailedJobsHistoryLimit == nil {
		t.Error("history limits unset")
	}
}

// TestIndexedJobMatchesConfig checks the split of spec §5: an Indexed Job of
// as many pods as totalRcbsInstances, and no rcbsInstanceId, so that each pod
// takes its id from JOB_COMPLETION_INDEX.
func TestIndexedJobMatchesConfig(t *testing.T) {
	s := loadSetup(t)
	js := s.job.Spec.JobTemplate.Spec
	if js.CompletionMode != "Indexed" {
		t.Errorf("completionMode %q, want Indexed (it sets JOB_COMPLETION_INDEX)", js.CompletionMode)
	}
	total, err := strconv.Atoi(s.config.GetString("totalRcbsInstances", ""))
	if err != nil || total < 2 {
		t.Fatalf("config totalRcbsInstances %q: want an integer ≥ 2 (%v)", s.config.GetString("totalRcbsInstances", ""), err)
	}
	for name, n := range map[string]*int32{"completions": js.Completions, "parallelism": js.Parallelism} {
		if n == nil || int(*n) != total {
			t.Errorf("%s %v, want %d = totalRcbsInstances", name, deref(n), total)
		}
	}
	if _, set := s.config.Get("rcbsInstanceId"); set {
		t.Error("config sets rcbsInstanceId: every pod would be the same instance; JOB_COMPLETION_INDEX must supply it")
	}
	e, ok := s.env("JOB_COMPLETION_INDEX")
	if !ok {
		t.Fatal("JOB_COMPLETION_INDEX is not declared in the container's env: declare it so that the subPathExpr wiring does not rest on the Job controller's injection alone")
	}
	const indexPath = "metadata.annotations['batch.kubernetes.io/job-completion-index']"
	if e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != indexPath {
		t.Errorf("JOB_COMPLETION_INDEX must come from fieldRef %s", indexPath)
	}
}

func deref(n *int32) any {
	if n == nil {
		return "unset"
	}
	return *n
}

// TestTargetDirPerIndex checks that each pod has its own targetDir (its own
// lock and state file, spec §5, §6) although all read one config.
func TestTargetDirPerIndex(t *testing.T) {
	s := loadSetup(t)
	target := s.config.GetString("targetDir", "")
	if !path.IsAbs(target) {
		t.Fatalf("targetDir %q must be an absolute path inside the container", target)
	}
	vm, ok := s.mountFor(target)
	if !ok {
		t.Fatalf("no volume mounted at targetDir %s: recordings would go to the container's root file system", target)
	}
	if vm.MountPath != target {
		t.Errorf("targetDir %s is below mount %s: the per-index folder must be targetDir itself", target, vm.MountPath)
	}
	if !strings.Contains(vm.SubPathExpr, "$(JOB_COMPLETION_INDEX)") {
		t.Errorf("mount %s: subPathExpr %q does not use $(JOB_COMPLETION_INDEX): the pods would share one targetDir and all but one exit 3", vm.MountPath, vm.SubPathExpr)
	}
	if vm.ReadOnly {
		t.Errorf("mount %s is read-only", vm.MountPath)
	}
	v, ok := s.volume(vm.Name)
	if !ok || v.PersistentVolumeClaim == nil {
		t.Fatalf("volume %q of targetDir is not a PersistentVolumeClaim", vm.Name)
	}
	pvc := only(t, "PersistentVolumeClaim", s.m.pvcs)
	if v.PersistentVolumeClaim.ClaimName != pvc.Metadata.Name {
		t.Errorf("targetDir claims %q, pvc.yaml defines %q", v.PersistentVolumeClaim.ClaimName, pvc.Metadata.Name)
	}
	if !slices.Contains(pvc.Spec.AccessModes, "ReadWriteMany") {
		t.Errorf("claim %s access modes %v: the pods of one run write at once, possibly from several nodes", pvc.Metadata.Name, pvc.Spec.AccessModes)
	}
}

// TestConfigMounted checks that the command reads the ConfigMap's file.
func TestConfigMounted(t *testing.T) {
	s := loadSetup(t)
	args := append(slices.Clone(s.c.Command), s.c.Args...)
	i := slices.IndexFunc(args, func(a string) bool { return a == "-config" || a == "--config" })
	if i < 0 || i+1 >= len(args) {
		t.Fatalf("command %v has no -config FILE", args)
	}
	file := args[i+1]
	vm, ok := s.mountFor(file)
	if !ok {
		t.Fatalf("-config %s is on no mounted volume", file)
	}
	v, _ := s.volume(vm.Name)
	if v.ConfigMap == nil || v.ConfigMap.Name != s.configMap.Metadata.Name {
		t.Fatalf("-config %s: volume %q is not the ConfigMap %s", file, vm.Name, s.configMap.Metadata.Name)
	}
	if vm.SubPath != "" || vm.SubPathExpr != "" {
		t.Errorf("config mount %s uses a subPath; mount the whole ConfigMap so its keys are the files", vm.MountPath)
	}
	rel := strings.TrimPrefix(file, strings.TrimSuffix(vm.MountPath, "/")+"/")
	if _, ok := s.configMap.Data[rel]; !ok {
		t.Errorf("-config %s: the ConfigMap has no key %q", file, rel)
	}
}

// TestCredentialsFromSecret checks that every credential of spec §2 reaches
// the pod from the Secret of secret.example.yaml, and none as a literal.
func TestCredentialsFromSecret(t *testing.T) {
	s := loadSetup(t)
	sec := only(t, "Secret", s.m.secrets)
	if got, want := sortedKeys(sec.StringData), sortedCopy(credentialEnv); !slices.Equal(got, want) || len(sec.Data) > 0 {
		t.Errorf("Secret %s: stringData keys %v (data %d keys), want %v", sec.Metadata.Name, got, len(sec.Data), want)
	}
	for k, v := range sec.StringData {
		if !placeholder.MatchString(v) {
			t.Errorf("Secret %s: %s=%q is not a <placeholder>: never commit a real credential", sec.Metadata.Name, k, v)
		}
	}
	for _, name := range credentialEnv {
		if !credentialFromSecret(s.c, name, sec) {
			t.Errorf("%s does not come from Secret %s (secretKeyRef or envFrom secretRef)", name, sec.Metadata.Name)
		}
	}
	for _, e := range s.c.Env {
		if slices.Contains(credentialEnv, e.Name) && e.Value != "" {
			t.Errorf("env %s has a literal value in the manifest", e.Name)
		}
	}
	for _, name := range []string{"GWS_USERNAME", "GWS_PASSWORD"} {
		if e, ok := s.env(name); ok && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && isTrue(e.ValueFrom.SecretKeyRef.Optional) {
			t.Errorf("%s is optional: a missing Secret key would start pods that cannot log in", name)
		}
	}
}

// credentialFromSecret tells whether env var name of c is taken from sec.
func credentialFromSecret(c container, name string, sec secret) bool {
	for _, e := range c.Env {
		if e.Name == name {
			ref := e.ValueFrom
			return ref != nil && ref.SecretKeyRef != nil && ref.SecretKeyRef.Name == sec.Metadata.Name &&
				ref.SecretKeyRef.Key != "" && hasKey(sec, ref.SecretKeyRef.Key)
		}
	}
	for _, ef := range c.EnvFrom {
		if ef.SecretRef != nil && ef.SecretRef.Name == sec.Metadata.Name && hasKey(sec, strings.TrimPrefix(name, ef.Prefix)) {
			return true
		}
	}
	return false
}

func hasKey(sec secret, key string) bool {
	_, a := sec.StringData[key]
	_, b := sec.Data[key]
	return a || b
}

func isTrue(b *bool) bool { return b != nil && *b }

// TestPodHardening checks the security settings an admin expects of a pod
// that handles personal data with cloud credentials.
func TestPodHardening(t *testing.T) {
	s := loadSetup(t)
	psc, csc := s.pod.SecurityContext, s.c.SecurityContext
	checks := []struct {
		what string
		ok   bool
	}{
		{"pod runAsNonRoot: true", isTrue(psc.RunAsNonRoot)},
		{"pod runAsUser ≠ 0", psc.RunAsUser != nil && *psc.RunAsUser != 0},
		{"pod fsGroup set (the volume must be writable by the non-root user)", psc.FSGroup != nil},
		{"readOnlyRootFilesystem: true", isTrue(csc.ReadOnlyRootFilesystem)},
		{"allowPrivilegeEscalation: false", csc.AllowPrivilegeEscalation != nil && !*csc.AllowPrivilegeEscalation},
		{"capabilities drop ALL", csc.Capabilities != nil && slices.Contains(csc.Capabilities.Drop, "ALL")},
		{"automountServiceAccountToken: false", s.pod.AutomountServiceAccountToken != nil && !*s.pod.AutomountServiceAccountToken},
		{"restartPolicy: Never (podFailurePolicy needs it)", s.pod.RestartPolicy == "Never"},
		{"image rcbs:<tag>, as internal/tools/image and the Dockerfile build it", strings.HasPrefix(s.c.Image, "rcbs:")},
		{"imagePullPolicy: IfNotPresent (an image loaded on the node is not pulled)", s.c.ImagePullPolicy == "IfNotPresent"},
		{"no command: the image's entrypoint /rcbs runs (its image has no /usr/local/bin)", len(s.c.Command) == 0},
		{"runAsUser 65532, the image's user", psc.RunAsUser != nil && *psc.RunAsUser == 65532},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("not %s", c.what)
		}
	}
}

// TestPodFailurePolicy checks the exit codes of spec §9 are handled as the
// manifest's comment says: 2 (configuration) fails the Job at once; 1
// (failed recordings) is never ignored.
func TestPodFailurePolicy(t *testing.T) {
	s := loadSetup(t)
	pfp := s.job.Spec.JobTemplate.Spec.PodFailurePolicy
	if pfp == nil {
		t.Fatal("no podFailurePolicy")
	}
	actionFor := map[int32]string{}
	for _, r := range pfp.Rules {
		if r.OnExitCodes == nil {
			continue
		}
		if r.OnExitCodes.Operator != "In" || r.OnExitCodes.ContainerName != s.c.Name {
			t.Errorf("rule %s: want operator In on container %s", r.Action, s.c.Name)
		}
		for _, v := range r.OnExitCodes.Values {
			actionFor[v] = r.Action
		}
	}
	if actionFor[2] != "FailJob" {
		t.Errorf("exit 2 (configuration error): action %q, want FailJob", actionFor[2])
	}
	if a, ok := actionFor[1]; ok && a == "Ignore" {
		t.Error("exit 1 (failed recordings) is ignored: failures would go unseen")
	}
}
