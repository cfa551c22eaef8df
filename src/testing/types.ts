/** What the plugin under test is granted, like an operator's `PluginSecurity` entry for it. */
export interface TestPermissions {
  /** Paths it may read; relative ones resolve against the folder it runs from. Default none. */
  readonly read?: readonly string[];
  /** Paths it may write; relative ones resolve against the folder it runs from. Default none. */
  readonly write?: readonly string[];
  /** Endpoints (`host:port` or URLs) it may reach. Default none. */
  readonly net?: readonly string[];
  /** Environment variables it may read (`PREFIX_*` allowed). Default none. */
  readonly env?: readonly string[];
  /** Whether it may use WebGPU (`PluginSecurity` `AllowGpu`). Default false. */
  readonly gpu?: boolean;
}
