// A workspace opened for one command: its project config, the selected component and
// tracker, and where this host's home config lives. Loaded once, passed down.
import { resolveHomeDir } from '../config/home.js';
import { loadProjectConfig, selectTracker, type ComponentConfig, type ProjectConfig, type TrackerConfig } from '../config/project.js';
import { openLocalTracker } from '../trackers/local/index.js';
import type { WorkTracker } from '../trackers/types.js';

export interface WorkspaceOptions {
  workspaceRoot: string;
  /** The --home argument; else DEV_NEXUS_HOME, else ~/.dev-nexus. */
  home?: string;
  componentId?: string;
  trackerId?: string;
  env?: NodeJS.ProcessEnv;
}

export interface Workspace {
  root: string;
  projectFile: string;
  project: ProjectConfig;
  component: ComponentConfig;
  trackerConfig: TrackerConfig;
  tracker: WorkTracker;
  homeDir: string;
  env: NodeJS.ProcessEnv;
}

export async function openWorkspace(options: WorkspaceOptions): Promise<Workspace> {
  const env = options.env ?? process.env;
  const { file, config } = await loadProjectConfig(options.workspaceRoot);
  const { component, tracker } = selectTracker(config, { componentId: options.componentId, trackerId: options.trackerId });
  return {
    root: options.workspaceRoot,
    projectFile: file,
    project: config,
    component,
    trackerConfig: tracker,
    // Only local trackers exist so far; hosted trackers plug in here.
    tracker: openLocalTracker(options.workspaceRoot, { trackerId: tracker.id }),
    homeDir: resolveHomeDir({ home: options.home, env }),
    env,
  };
}
