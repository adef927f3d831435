/**
 * The registry commands: show the Models panel, open a model or a version's lineage,
 * register a run's artifact, move a version between stages, roll production back. The
 * server decides whether this user may write (`jupyter_mm:registry`), so a read-only user
 * sees the same commands and gets the server's 403 sentence.
 */
import {
  isTargetStage,
  promoteVersion,
  registerArtifact,
  rollbackModel
} from '../registryActions';
import { openLineage, openModel } from '../registryViews';
import { CommandIDs, IRegistryDeps, MODELS_PANEL_ID } from '../tokens';
import { numberArg, pinnedArg, stringArg } from './common';

/** Show the Models panel, a model's view, a version's lineage. */
function addViewCommands(deps: IRegistryDeps): void {
  const { app } = deps;
  const { commands } = app;
  commands.addCommand(CommandIDs.openModels, {
    label: 'Show Models',
    caption: 'Show the registered models',
    execute: () => app.shell.activateById(MODELS_PANEL_ID)
  });
  commands.addCommand(CommandIDs.openModel, {
    label: args => `Open Model ${stringArg(args, 'name') ?? ''}`.trim(),
    isEnabled: args => !!stringArg(args, 'name'),
    execute: args => {
      const name = stringArg(args, 'name');
      if (name) {
        openModel(deps, name, pinnedArg(args));
      }
    }
  });
  commands.addCommand(CommandIDs.openLineage, {
    label: 'Open Model Version Lineage',
    isEnabled: args =>
      !!stringArg(args, 'name') && !!numberArg(args, 'version'),
    execute: args => {
      const name = stringArg(args, 'name');
      const version = numberArg(args, 'version');
      if (name && version) {
        openLineage(deps, name, version, pinnedArg(args));
      }
    }
  });
}

/** Register an artifact, move a version between stages, roll production back. */
function addWriteCommands(deps: IRegistryDeps): void {
  const { app } = deps;
  const { commands } = app;
  commands.addCommand(CommandIDs.registerModel, {
    label: 'Register Artifact as Model Version…',
    isEnabled: args =>
      !!stringArg(args, 'run_id') && !!stringArg(args, 'artifact'),
    execute: async args => {
      const runId = stringArg(args, 'run_id');
      const artifact = stringArg(args, 'artifact');
      if (!runId || !artifact) {
        return null;
      }
      const version = await registerArtifact(deps, runId, artifact);
      if (version) {
        app.shell.activateById(MODELS_PANEL_ID);
        openModel(deps, version.model);
      }
      return version;
    }
  });
  commands.addCommand(CommandIDs.promoteVersion, {
    label: args =>
      `Move Model Version to ${stringArg(args, 'stage') ?? 'a Stage'}…`,
    isEnabled: args =>
      !!stringArg(args, 'name') &&
      !!numberArg(args, 'version') &&
      isTargetStage(stringArg(args, 'stage')),
    execute: args => {
      const name = stringArg(args, 'name');
      const version = numberArg(args, 'version');
      const stage = stringArg(args, 'stage');
      return name && version && isTargetStage(stage)
        ? promoteVersion(deps, name, version, stage)
        : null;
    }
  });
  commands.addCommand(CommandIDs.rollbackModel, {
    label: 'Roll Back Production…',
    isEnabled: args => !!stringArg(args, 'name'),
    execute: args => {
      const name = stringArg(args, 'name');
      return name ? rollbackModel(deps, name) : null;
    }
  });
}

export function addRegistryCommands(deps: IRegistryDeps): string[] {
  addViewCommands(deps);
  addWriteCommands(deps);
  return [
    CommandIDs.openModels,
    CommandIDs.openModel,
    CommandIDs.registerModel,
    CommandIDs.promoteVersion,
    CommandIDs.rollbackModel,
    CommandIDs.openLineage
  ];
}
