import {Flags} from '@oclif/core'

/**
 * The mount ID of mounts made by hand with `dot mount`. dockerd uses 64-hex-digit IDs, so this never
 * collides with a container's; `dot ls` shows it in USERS like any other user of the volume.
 */
export const MANUAL_MOUNT_ID = 'manual'

export const mountIdFlag = Flags.string({
  description: `mount ID this use is counted under ("${MANUAL_MOUNT_ID}" for mounts made by hand); an ID mounted twice needs two unmounts`,
  default: MANUAL_MOUNT_ID,
  helpValue: 'ID',
})
