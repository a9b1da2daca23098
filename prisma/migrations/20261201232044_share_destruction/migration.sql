-- AlterTable
ALTER TABLE "Share" ADD COLUMN     "destroyedAt" TIMESTAMP(3),
ADD COLUMN     "endReason" TEXT;

-- CreateTable
CREATE TABLE "DestructionReceipt" (
    "shareId" UUID NOT NULL,
    "document" TEXT NOT NULL,
    "signature" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "DestructionReceipt_pkey" PRIMARY KEY ("shareId")
);

-- CreateIndex
CREATE INDEX "Share_endedAt_destroyedAt_idx" ON "Share"("endedAt", "destroyedAt");
