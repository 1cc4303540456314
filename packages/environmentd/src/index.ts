/**
 * @mzts/environmentd — the environment service: the catalog (clusters, replicas, sources, indexes,
 * materialized views and the environment generation, fenced against zombie environmentds) in
 * SQLite (default) or PostgreSQL; the environment (composition root: catalog + orchestrator +
 * compute and storage controllers, rebuilt from the catalog at boot); and the API server
 * (`EnvironmentService` over gRPC/h2c and Connect JSON over HTTP/1.1).
 */

export {
  isRefusedStream,
  refusedAsUnavailable,
  refusedStreamIsUnavailable,
} from "./api/refused-stream.js";
export {
  type ApiServer,
  type ApiServerOptions,
  environmentRoutes,
  startApiServer,
  toConnectError,
} from "./api/server.js";
export type {
  Catalog,
  CatalogItem,
  CatalogObject,
  CatalogSnapshot,
  CatalogSourceExport,
  Cluster,
  ClusterOptions,
  ClusterReplica,
  CreateClusterInput,
  CreateIndexInput,
  CreateMaterializedViewInput,
  CreateReplicaInput,
  CreateSourceInput,
  DropOptions,
  Generation,
  Index,
  ItemKind,
  JsonValue,
  MaterializedView,
  Source,
} from "./catalog/catalog.js";
export { CATALOG_OBJECT_FORMAT_VERSION } from "./catalog/catalog-state.js";
export {
  CatalogClosed,
  type CatalogObjectKind,
  CatalogUnavailable,
  CorruptCatalog,
  DependencyExists,
  type Dependent,
  EnvironmentdError,
  GenerationNotBooted,
  InvalidCatalogInput,
  NameInUse,
  StaleGeneration,
  UnknownObject,
  UnsupportedFormatVersion,
} from "./catalog/errors.js";
export {
  openPostgresCatalog,
  POSTGRES_CATALOG_SCHEMA_VERSION,
  type PostgresCatalogOptions,
} from "./catalog/postgres.js";
export {
  openSqliteCatalog,
  SQLITE_CATALOG_SCHEMA_VERSION,
  type SqliteCatalogOptions,
} from "./catalog/sqlite.js";
export {
  LegacyClusterController,
  type LegacyParts,
} from "./cluster-controllers/legacy-cluster-controller.js";
export {
  type CloseOptions,
  createEnvironment,
  type Environment,
  type EnvironmentOptions,
  GENERATOR_OUTPUTS,
  type PhaseSource,
} from "./environment.js";
export {
  ClusterControllerMissing,
  EnvironmentClosed,
  InvalidObjectRequest,
  NoIndexForPeek,
  PeekBelowSince,
  SubsourceDrop,
  UpperWaitTimeout,
} from "./errors.js";
export { diskUsage, peakRssMb, rssMb } from "./resource-usage.js";
