/**
 * Structural schemas of the built-in kinds the local cluster serves (and of ObjectMeta), for pruning unknown fields
 * the way kube-apiserver's typed decoding drops them, and for `kubectl explain`. Field names follow k8s.io/api
 * v1.34 `types.go`; descriptions are ours and short. Where a type is large and this project never looks inside
 * (container specs, affinity, metric specs) the schema stops and keeps whatever is written there, so only the
 * levels described here have their unknown fields detected.
 */
import type { Schema } from "./schema";

const str = (description: string, extra: Partial<Schema> = {}): Schema => ({
  type: "string",
  description,
  ...extra,
});
const int32 = (description: string): Schema => ({ type: "integer", format: "int32", description });
const int64 = (description: string): Schema => ({ type: "integer", format: "int64", description });
const bool = (description: string): Schema => ({ type: "boolean", description });
const time = (description: string): Schema => ({ type: "string", format: "date-time", description });
const strings = (description: string): Schema => ({ type: "array", description, items: { type: "string" } });
const stringMap = (description: string): Schema => ({
  type: "object",
  description,
  additionalProperties: { type: "string" },
});
const quantities = (description: string): Schema => ({
  type: "object",
  description,
  additionalProperties: { "x-kubernetes-int-or-string": true },
});
/** An object this project never looks into: any content is kept. */
const open = (description: string): Schema => ({
  type: "object",
  description,
  "x-kubernetes-preserve-unknown-fields": true,
});
const openList = (description: string): Schema => ({ type: "array", description, items: open(description) });
const obj = (
  description: string,
  properties: Record<string, Schema>,
  extra: Partial<Schema> = {},
): Schema => ({
  type: "object",
  description,
  properties,
  ...extra,
});
const list = (description: string, items: Schema): Schema => ({ type: "array", description, items });

const ownerReference = obj(
  "An object this one depends on; it is garbage-collected when all its owners are gone.",
  {
    apiVersion: str("API version of the owner."),
    kind: str("Kind of the owner."),
    name: str("Name of the owner."),
    uid: str("UID of the owner."),
    controller: bool("True if the owner is the managing controller."),
    blockOwnerDeletion: bool("True if a foreground deletion of the owner waits for this object."),
  },
  { required: ["apiVersion", "kind", "name", "uid"] },
);

/** metav1.ObjectMeta. */
export const OBJECT_META_SCHEMA: Schema = obj(
  "Metadata every persisted object has: name, namespace, labels, annotations, ownership and system fields.",
  {
    name: str("Unique name within the namespace (or the cluster, for cluster-scoped kinds)."),
    generateName: str("Prefix the server completes with a random suffix when name is empty."),
    namespace: str("Namespace the object lives in; empty for cluster-scoped kinds."),
    selfLink: str("Deprecated, never set."),
    uid: str("Unique identifier set by the server on create."),
    resourceVersion: str("Opaque version of the object, for optimistic concurrency and watches."),
    generation: int64("Sequence number of changes to the desired state."),
    creationTimestamp: time("When the object was created."),
    deletionTimestamp: time("When deletion was requested; the object goes once its finalizers are removed."),
    deletionGracePeriodSeconds: int64("Seconds the object is given to terminate gracefully."),
    labels: stringMap("Key/value pairs selectors match on."),
    annotations: stringMap("Key/value pairs for tools and controllers; not used for selection."),
    ownerReferences: list("Objects this one depends on.", ownerReference),
    finalizers: strings("Tasks that must finish before the object is deleted."),
    managedFields: list(
      "Which manager owns which fields (server-side apply).",
      obj("One manager's fields.", {
        manager: str("Name of the manager."),
        operation: str("Apply or Update."),
        apiVersion: str("API version the fields are expressed in."),
        time: time("When the manager last changed its fields."),
        fieldsType: str("Format of fieldsV1: FieldsV1."),
        fieldsV1: open("The owned fields."),
        subresource: str("Subresource the write went through, if any."),
      }),
    ),
  },
);

const META_REF: Schema = OBJECT_META_SCHEMA;

function kind(description: string, properties: Record<string, Schema>): Schema {
  return obj(description, {
    apiVersion: str("Versioned schema of this representation of the object."),
    kind: str("The REST resource this object represents."),
    metadata: META_REF,
    ...properties,
  });
}

const condition = obj("An observed condition.", {
  type: str("Type of the condition."),
  status: str("True, False or Unknown."),
  observedGeneration: int64("Generation the condition was set for."),
  lastProbeTime: time("When the condition was last probed."),
  lastHeartbeatTime: time("When the condition was last reported."),
  lastTransitionTime: time("When the status last changed."),
  reason: str("Machine-readable reason for the last transition."),
  message: str("Human-readable details of the last transition."),
});
const conditions = list("Observed conditions.", condition);

const objectReference = obj("A reference to an object.", {
  kind: str("Kind of the referent."),
  namespace: str("Namespace of the referent."),
  name: str("Name of the referent."),
  uid: str("UID of the referent."),
  apiVersion: str("API version of the referent."),
  resourceVersion: str("Resource version of the referent."),
  fieldPath: str("A field within the referent, e.g. a container."),
});

const labelSelector = open("A label query: matchLabels and matchExpressions.");
const podTemplate = obj("The pods to create.", {
  metadata: open("Labels and annotations of the pods."),
  spec: open("The pod spec."),
});

const podSpec = obj("Desired state of the pod.", {
  volumes: openList("Volumes the containers can mount."),
  initContainers: openList("Containers run to completion, in order, before the app containers start."),
  containers: openList("The pod's containers."),
  ephemeralContainers: openList("Debugging containers added to a running pod."),
  restartPolicy: str("Always, OnFailure or Never."),
  terminationGracePeriodSeconds: int64("Seconds given to the pod to stop gracefully."),
  activeDeadlineSeconds: int64("Seconds the pod may be active before it is failed."),
  dnsPolicy: str("How the pod's DNS is set up."),
  nodeSelector: stringMap("Labels a node must have for the pod to be scheduled there."),
  serviceAccountName: str("Service account the pod runs as."),
  serviceAccount: str("Deprecated alias of serviceAccountName."),
  automountServiceAccountToken: bool("Whether the service account token is mounted."),
  nodeName: str("Node the pod is bound to."),
  hostNetwork: bool("Use the host's network namespace."),
  hostPID: bool("Use the host's PID namespace."),
  hostIPC: bool("Use the host's IPC namespace."),
  shareProcessNamespace: bool("Share one PID namespace between the containers."),
  securityContext: open("Pod-level security attributes."),
  imagePullSecrets: openList("Secrets for pulling images."),
  hostname: str("Hostname of the pod."),
  subdomain: str("Subdomain of the pod."),
  affinity: open("Scheduling constraints."),
  schedulerName: str("Scheduler that places the pod."),
  tolerations: openList("Taints the pod tolerates."),
  hostAliases: openList("Extra /etc/hosts entries."),
  priorityClassName: str("Priority class of the pod."),
  priority: int32("Priority value resolved from the priority class."),
  dnsConfig: open("DNS parameters beyond dnsPolicy."),
  readinessGates: openList("Extra conditions for pod readiness."),
  runtimeClassName: str("RuntimeClass the pod runs with."),
  enableServiceLinks: bool("Inject service environment variables."),
  preemptionPolicy: str("Whether the pod may preempt lower-priority pods."),
  overhead: quantities("Resources the runtime adds for the pod."),
  topologySpreadConstraints: openList("How pods spread over topology domains."),
  setHostnameAsFQDN: bool("Use the FQDN as the hostname."),
  os: open("Operating system of the containers."),
  hostUsers: bool("Use the host's user namespace."),
  schedulingGates: openList("Gates that hold the pod back from scheduling."),
  resourceClaims: openList("Dynamic resource claims."),
  resources: open("Pod-level resource requirements."),
  hostnameOverride: str("Hostname to use instead of the pod name."),
});

const podStatus = obj("Observed state of the pod.", {
  observedGeneration: int64("Generation the status was computed for."),
  phase: str("Pending, Running, Succeeded, Failed or Unknown."),
  conditions,
  message: str("Why the pod is in this state."),
  reason: str("Brief reason for the state."),
  nominatedNodeName: str("Node the pod may preempt its way onto."),
  hostIP: str("IP of the node."),
  hostIPs: openList("IPs of the node."),
  podIP: str("IP of the pod."),
  podIPs: openList("IPs of the pod."),
  startTime: time("When the kubelet acknowledged the pod."),
  initContainerStatuses: openList("Status of the init containers."),
  containerStatuses: openList("Status of the containers."),
  qosClass: str("Guaranteed, Burstable or BestEffort."),
  ephemeralContainerStatuses: openList("Status of the ephemeral containers."),
  resize: str("Status of a resize."),
  resourceClaimStatuses: openList("Status of the resource claims."),
  extendedResourceClaimStatus: open("Status of extended resource claims."),
});

const serviceSpec = obj("Desired state of the service.", {
  ports: openList("Ports the service exposes."),
  selector: stringMap("Pods the service routes to."),
  clusterIP: str("Virtual IP of the service."),
  clusterIPs: strings("Virtual IPs of the service, one per family."),
  type: str("ClusterIP, NodePort, LoadBalancer or ExternalName."),
  externalIPs: strings("Extra IPs the service accepts traffic on."),
  sessionAffinity: str("ClientIP or None."),
  loadBalancerIP: str("Deprecated: requested load balancer IP."),
  loadBalancerSourceRanges: strings("Client ranges a load balancer admits."),
  externalName: str("DNS name for ExternalName services."),
  externalTrafficPolicy: str("Cluster or Local."),
  healthCheckNodePort: int32("Health-check node port for Local traffic policy."),
  publishNotReadyAddresses: bool("Publish endpoints of pods that are not ready."),
  sessionAffinityConfig: open("Session affinity settings."),
  ipFamilies: strings("IP families of the service."),
  ipFamilyPolicy: str("SingleStack, PreferDualStack or RequireDualStack."),
  allocateLoadBalancerNodePorts: bool("Allocate node ports for LoadBalancer services."),
  loadBalancerClass: str("Load balancer implementation."),
  internalTrafficPolicy: str("Cluster or Local."),
  trafficDistribution: str("How traffic is distributed over endpoints."),
});

const hpaTarget = obj("The object to scale, through its scale subresource.", {
  kind: str("Kind of the target."),
  name: str("Name of the target."),
  apiVersion: str("API version of the target."),
});

const hpaV2 = kind("Scales a target between minReplicas and maxReplicas from its metrics.", {
  spec: obj("Desired behaviour of the autoscaler.", {
    scaleTargetRef: hpaTarget,
    minReplicas: int32("Lower limit of replicas."),
    maxReplicas: int32("Upper limit of replicas."),
    metrics: openList("Metrics the replica count is computed from."),
    behavior: open("Scaling policies for up and down."),
  }),
  status: obj("Observed state of the autoscaler.", {
    observedGeneration: int64("Generation last observed."),
    lastScaleTime: time("When the autoscaler last scaled."),
    currentReplicas: int32("Current replicas of the target."),
    desiredReplicas: int32("Replicas the autoscaler wants."),
    currentMetrics: openList("Last read metric values."),
    conditions,
  }),
});

const hpaV1 = kind("Scales a target between minReplicas and maxReplicas from its CPU utilization.", {
  spec: obj("Desired behaviour of the autoscaler.", {
    scaleTargetRef: hpaTarget,
    minReplicas: int32("Lower limit of replicas."),
    maxReplicas: int32("Upper limit of replicas."),
    targetCPUUtilizationPercentage: int32("Target average CPU utilization, in percent of requests."),
  }),
  status: obj("Observed state of the autoscaler.", {
    observedGeneration: int64("Generation last observed."),
    lastScaleTime: time("When the autoscaler last scaled."),
    currentReplicas: int32("Current replicas of the target."),
    desiredReplicas: int32("Replicas the autoscaler wants."),
    currentCPUUtilizationPercentage: int32("Current average CPU utilization, in percent of requests."),
  }),
});

const workloadStatus = (extra: Record<string, Schema>): Schema =>
  obj("Observed state of the workload.", {
    observedGeneration: int64("Generation last observed by the controller."),
    replicas: int32("Replicas the controller manages."),
    readyReplicas: int32("Replicas that are ready."),
    availableReplicas: int32("Replicas ready for at least minReadySeconds."),
    conditions,
    ...extra,
  });

/** Schemas by `<group/version>/<Kind>`. */
export const BUILTIN_SCHEMAS: Readonly<Record<string, Schema>> = {
  "v1/Namespace": kind("A scope for names; deleting it deletes everything in it.", {
    spec: obj("Desired state of the namespace.", {
      finalizers: strings("Finalizers that must run before the namespace goes."),
    }),
    status: obj("Observed state of the namespace.", {
      phase: str("Active or Terminating."),
      conditions,
    }),
  }),
  "v1/Event": kind("A report of something that happened to an object.", {
    involvedObject: objectReference,
    reason: str("Short, machine-readable reason."),
    message: str("Human-readable description."),
    source: obj("The component that reported the event.", {
      component: str("Component name."),
      host: str("Node name."),
    }),
    firstTimestamp: time("When the event was first recorded."),
    lastTimestamp: time("When the event most recently occurred."),
    count: int32("How many times it occurred."),
    type: str("Normal or Warning."),
    eventTime: str("When the event was first observed (microseconds).", { format: "date-time" }),
    series: obj("Data about a series of repeated events.", {
      count: int32("Occurrences in the series."),
      lastObservedTime: str("Last occurrence.", { format: "date-time" }),
    }),
    action: str("What was done, or failed."),
    related: objectReference,
    reportingComponent: str("Controller that emitted the event."),
    reportingInstance: str("Instance of that controller."),
  }),
  "v1/Pod": kind("A group of containers running together on a node.", { spec: podSpec, status: podStatus }),
  "v1/Service": kind("A stable address for a set of pods.", {
    spec: serviceSpec,
    status: obj("Observed state of the service.", {
      loadBalancer: open("Load balancer state."),
      conditions,
    }),
  }),
  "v1/Endpoints": kind("The addresses a service routes to.", {
    subsets: list(
      "Groups of addresses sharing ports.",
      obj("Addresses and the ports they serve.", {
        addresses: list(
          "Ready addresses.",
          obj("One address.", {
            ip: str("IP of the endpoint."),
            hostname: str("Hostname of the endpoint."),
            nodeName: str("Node hosting the endpoint."),
            targetRef: objectReference,
          }),
        ),
        notReadyAddresses: openList("Addresses not ready yet."),
        ports: list(
          "Ports of the addresses.",
          obj("One port.", {
            name: str("Name of the port."),
            port: int32("Port number."),
            protocol: str("TCP, UDP or SCTP."),
            appProtocol: str("Application protocol."),
          }),
        ),
      }),
    ),
  }),
  "v1/Node": kind("A machine pods run on.", {
    spec: obj("Desired state of the node.", {
      podCIDR: str("Pod IP range of the node."),
      podCIDRs: strings("Pod IP ranges of the node."),
      providerID: str("Cloud provider's ID of the node."),
      unschedulable: bool("Keep new pods off the node."),
      taints: openList("Taints repelling pods that do not tolerate them."),
      configSource: open("Deprecated dynamic kubelet config."),
      externalID: str("Deprecated."),
    }),
    status: obj("Observed state of the node.", {
      capacity: quantities("Total resources of the node."),
      allocatable: quantities("Resources available to pods."),
      phase: str("Deprecated lifecycle phase."),
      conditions,
      addresses: openList("Addresses of the node."),
      daemonEndpoints: open("Ports of the node's daemons."),
      nodeInfo: open("Versions and identifiers reported by the kubelet."),
      images: openList("Images present on the node."),
      volumesInUse: strings("Volumes in use on the node."),
      volumesAttached: openList("Volumes attached to the node."),
      config: open("Kubelet config status."),
      runtimeHandlers: openList("Available runtime handlers."),
      features: open("Features the node supports."),
      declaredFeatures: strings("Features the node declares."),
    }),
  }),
  "v1/ConfigMap": kind("Configuration data as key/value pairs.", {
    data: stringMap("UTF-8 values."),
    binaryData: stringMap("Binary values, base64-encoded."),
    immutable: bool("If true, the data cannot change."),
  }),
  "v1/ResourceQuota": kind("Limits on the resources a namespace may use.", {
    spec: obj("The limits.", {
      hard: quantities("Hard limit per resource."),
      scopes: strings("Scopes the quota applies to."),
      scopeSelector: open("Selector over scopes."),
    }),
    status: obj("Observed use.", {
      hard: quantities("Enforced hard limits."),
      used: quantities("Current use."),
    }),
  }),
  "v1/LimitRange": kind("Defaults and bounds for resources of pods and containers in a namespace.", {
    spec: obj("The limits.", { limits: openList("Limits per kind of object.") }),
  }),
  "v1/Secret": kind("Sensitive data as key/value pairs.", {
    data: stringMap("Values, base64-encoded."),
    stringData: stringMap("Write-only plain values, merged into data on write."),
    type: str("Kind of secret, e.g. Opaque."),
    immutable: bool("If true, the data cannot change."),
  }),
  "v1/ReplicationController": kind("Keeps a number of pod replicas running.", {
    spec: obj("Desired state.", {
      replicas: int32("Desired replicas."),
      minReadySeconds: int32("Seconds a pod must be ready to count as available."),
      selector: stringMap("Labels of the pods it manages."),
      template: podTemplate,
    }),
    status: workloadStatus({ fullyLabeledReplicas: int32("Replicas whose labels match the template.") }),
  }),
  "coordination.k8s.io/v1/Lease": kind("A lock with a holder and a duration, e.g. for leader election.", {
    spec: obj("The lease.", {
      holderIdentity: str("Who holds the lease."),
      leaseDurationSeconds: int32("Seconds a holder keeps it without renewing."),
      acquireTime: str("When the current holder acquired it.", { format: "date-time" }),
      renewTime: str("When the holder last renewed it.", { format: "date-time" }),
      leaseTransitions: int32("How many times the holder changed."),
      strategy: str("Strategy for picking the next holder."),
      preferredHolder: str("Holder the strategy prefers."),
    }),
  }),
  "autoscaling/v2/HorizontalPodAutoscaler": hpaV2,
  "autoscaling/v1/HorizontalPodAutoscaler": hpaV1,
  "admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration": kind(
    "Admission webhooks the API server calls to accept or reject writes.",
    {
      webhooks: {
        ...list(
          "The webhooks and what they are called for.",
          obj("One webhook.", {
            name: str("Fully qualified name of the webhook."),
            clientConfig: obj("How to reach the webhook.", {
              url: str("https URL of the webhook."),
              service: obj("A Service in the cluster serving the webhook.", {
                namespace: str("Namespace of the Service."),
                name: str("Name of the Service."),
                path: str("URL path sent to the Service."),
                port: int32("Port of the Service (default 443)."),
              }),
              caBundle: str("PEM CA bundle (base64) the webhook's serving certificate is verified with.", {
                format: "byte",
              }),
            }),
            rules: list(
              "Operations on resources the webhook is called for.",
              obj("One rule.", {
                operations: strings("CREATE, UPDATE, DELETE, CONNECT or *."),
                apiGroups: strings("API groups, * for all."),
                apiVersions: strings("API versions, * for all."),
                resources: strings("Resources, with /subresource; * and */* for all."),
                scope: str("Cluster, Namespaced or * (default)."),
              }),
            ),
            failurePolicy: str("Ignore or Fail (default): what a failed call does to the write."),
            matchPolicy: str("Exact or Equivalent (default): also match other versions of a resource."),
            namespaceSelector: labelSelector,
            objectSelector: labelSelector,
            sideEffects: str(
              "None or NoneOnDryRun: dry-run requests go only to webhooks without side effects.",
            ),
            timeoutSeconds: int32("Seconds to wait for an answer, 1 to 30 (default 10)."),
            admissionReviewVersions: strings(
              "AdmissionReview versions the webhook accepts, preferred first.",
            ),
            matchConditions: openList("CEL conditions that must all hold for the webhook to be called."),
          }),
        ),
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["name"],
      },
    },
  ),
  "apps/v1/ControllerRevision": kind("An immutable snapshot of a controller's template.", {
    data: open("The snapshot."),
    revision: int64("Revision number of the snapshot."),
  }),
  "apps/v1/Deployment": kind("Declarative rollouts of a pod template through replica sets.", {
    spec: obj("Desired state.", {
      replicas: int32("Desired pods."),
      selector: labelSelector,
      template: podTemplate,
      strategy: open("How pods are replaced."),
      minReadySeconds: int32("Seconds a pod must be ready to count as available."),
      revisionHistoryLimit: int32("Old replica sets to keep."),
      paused: bool("Whether the rollout is paused."),
      progressDeadlineSeconds: int32("Seconds before a stalled rollout is reported."),
    }),
    status: workloadStatus({
      updatedReplicas: int32("Pods with the current template."),
      unavailableReplicas: int32("Pods still needed for full availability."),
      terminatingReplicas: int32("Pods being terminated."),
      collisionCount: int32("Hash collisions seen when naming replica sets."),
    }),
  }),
  "apps/v1/ReplicaSet": kind("Keeps a number of pod replicas running.", {
    spec: obj("Desired state.", {
      replicas: int32("Desired pods."),
      minReadySeconds: int32("Seconds a pod must be ready to count as available."),
      selector: labelSelector,
      template: podTemplate,
    }),
    status: workloadStatus({
      fullyLabeledReplicas: int32("Pods whose labels match the template."),
      terminatingReplicas: int32("Pods being terminated."),
    }),
  }),
  "apps/v1/DaemonSet": kind("Runs one pod per eligible node.", {
    spec: obj("Desired state.", {
      selector: labelSelector,
      template: podTemplate,
      updateStrategy: open("How pods are replaced."),
      minReadySeconds: int32("Seconds a pod must be ready to count as available."),
      revisionHistoryLimit: int32("Old revisions to keep."),
    }),
    status: obj("Observed state.", {
      currentNumberScheduled: int32("Nodes running a daemon pod that should."),
      numberMisscheduled: int32("Nodes running a daemon pod that should not."),
      desiredNumberScheduled: int32("Nodes that should run a daemon pod."),
      numberReady: int32("Nodes with a ready daemon pod."),
      observedGeneration: int64("Generation last observed."),
      updatedNumberScheduled: int32("Nodes running the current template."),
      numberAvailable: int32("Nodes with an available daemon pod."),
      numberUnavailable: int32("Nodes that should have an available daemon pod and do not."),
      collisionCount: int32("Hash collisions seen when naming revisions."),
      conditions,
    }),
  }),
  "authorization.k8s.io/v1/SelfSubjectAccessReview": kind("Asks whether the caller may perform an action.", {
    spec: obj("The action to check: exactly one of resourceAttributes or nonResourceAttributes.", {
      resourceAttributes: obj("A request on a resource.", {
        namespace: str("Namespace of the request; empty means all namespaces."),
        verb: str("Verb, e.g. get, list, create, or * for all."),
        group: str("API group, or * for all."),
        version: str("API version, or * for all."),
        resource: str("Resource, or * for all."),
        subresource: str("Subresource, or empty."),
        name: str("Name of the object, or empty for all."),
        fieldSelector: open("Field selector limiting the request."),
        labelSelector: open("Label selector limiting the request."),
      }),
      nonResourceAttributes: obj("A request on a non-resource path.", {
        path: str("URL path."),
        verb: str("HTTP verb, lowercase."),
      }),
    }),
    status: obj("The answer.", {
      allowed: bool("Whether the action is allowed."),
      denied: bool("Whether the action is explicitly denied."),
      reason: str("Why, if the authorizer says."),
      evaluationError: str("An error while evaluating, if any."),
    }),
  }),
  "authorization.k8s.io/v1/SelfSubjectRulesReview": kind("Lists what the caller may do in a namespace.", {
    spec: obj("The namespace to list rules for.", { namespace: str("Namespace to evaluate.") }),
    status: obj("The rules.", {
      resourceRules: openList("Allowed actions on resources."),
      nonResourceRules: openList("Allowed actions on non-resource paths."),
      incomplete: bool("True when the list may be incomplete."),
      evaluationError: str("An error while evaluating, if any."),
    }),
  }),
  "authentication.k8s.io/v1/SelfSubjectReview": kind("Tells the caller who the server thinks it is.", {
    status: obj("The caller's identity.", {
      userInfo: obj("The authenticated user.", {
        username: str("Name of the user."),
        uid: str("UID of the user."),
        groups: strings("Groups the user belongs to."),
        extra: open("Extra attributes from the authenticator."),
      }),
    }),
  }),
};
