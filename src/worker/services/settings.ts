// Live settings of this node: gossip fanout and cycle, overlay link bounds, consensus batch
// size, Byzantine mode. One command applies a partial change to the services that own each
// setting (each checks it again and may refuse); `snapshot().settings` shows what is in force.
// The batch size is only this node's policy as primary: replicas accept any batch up to the
// wire ceiling, so it may differ from tab to tab.
import { defaultGossipConfig } from '../../core/gossip/index.ts';
import { defaultPbftParams } from '../../core/pbft/index.ts';
import type { Service, ServiceContext } from '../service.ts';
import type { GossipService } from './gossip.ts';
import type { OverlayService } from './overlay.ts';
import type { PbftService } from './pbft.ts';
import { checkSettings, type MeshSettings } from './settings-schema.ts';

export interface SettingsDeps {
  gossip: GossipService;
  overlay: OverlayService;
  pbft?: PbftService;
}

export class SettingsService implements Service {
  readonly protocol = 'settings' as const;
  private ctx!: ServiceContext;
  private gossipSettings = { fanout: defaultGossipConfig.fanout, cycleMs: defaultGossipConfig.cycleMs };
  /** The consensus service starts with the default batch size; only this service changes it. */
  private batchSize = defaultPbftParams.maxBatchRequests;

  constructor(private readonly deps: SettingsDeps) {}

  async start(ctx: ServiceContext): Promise<void> {
    this.ctx = ctx;
  }

  receive(): void {
    this.ctx.reject('settings are not exchanged between nodes');
  }

  /** The settings in force, read from the services that own them. */
  current(): MeshSettings {
    const overlay = this.deps.overlay.snapshot().overlay as { config: { minLinks: number; maxLinks: number } };
    const consensus = this.deps.pbft?.consensus();
    return {
      fanout: this.gossipSettings.fanout,
      gossipCycleMs: this.gossipSettings.cycleMs,
      minLinks: overlay.config.minLinks,
      maxLinks: overlay.config.maxLinks,
      batchSize: this.batchSize,
      byzantine: consensus?.byzantine ?? null,
    };
  }

  readonly commands = {
    /** Applies a partial change; resolves with the settings in force; throws why when refused. */
    setSettings: (args: unknown[]): MeshSettings => {
      const before = this.current();
      const check = checkSettings(args[0], before);
      if (!check.ok) {
        this.ctx.reject('refused setting');
        throw new Error(`setSettings refused: ${check.error}`);
      }
      const change = check.value;
      if (!this.deps.pbft && (change.batchSize !== undefined || change.byzantine !== undefined)) {
        this.ctx.reject('refused setting');
        throw new Error('setSettings refused: this node runs no consensus, so it has no batch size or Byzantine mode');
      }
      if (change.fanout !== undefined || change.gossipCycleMs !== undefined) {
        this.gossipSettings = this.deps.gossip.configure({ fanout: change.fanout ?? before.fanout, cycleMs: change.gossipCycleMs ?? before.gossipCycleMs });
      }
      if (change.minLinks !== undefined || change.maxLinks !== undefined) {
        this.deps.overlay.commands.setLinkBounds([change.minLinks ?? before.minLinks, change.maxLinks ?? before.maxLinks]);
      }
      if (change.batchSize !== undefined) this.batchSize = this.deps.pbft?.setBatchSize(change.batchSize) ?? this.batchSize;
      if (change.byzantine !== undefined) this.deps.pbft?.commands.setByzantine([change.byzantine]);
      this.ctx.changed();
      return this.current();
    },
    settings: (): MeshSettings => this.current(),
  };

  snapshot(): Record<string, unknown> {
    return { settings: this.current() };
  }
}
