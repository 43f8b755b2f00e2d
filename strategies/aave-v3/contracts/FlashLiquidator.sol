// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/*
 * Undertow's flash liquidator for Aave v3 (v3.0 to v3.6): a liquidation without inventory.
 *
 *   owner → liquidate(job)
 *     Pool.flashLoanSimple(debt asset, flashAmount)
 *       → executeOperation: Pool.liquidationCall(collateral, debt, user, debtToCover, false)
 *                           swap every seized collateral unit into the debt asset on one
 *                           Uniswap v3 pool (exact input), require what is left after repaying
 *                           the loan and its premium ≥ minProfit, send it to profitTo
 *     Pool pulls flashAmount + premium
 *   msg.value, if any, goes to block.coinbase (a builder payment that exists only if all of it
 *   succeeded, since any failure reverts the payment too)
 *
 * It keeps nothing between calls: the profit leaves inside the call, and what the loan owes is
 * pulled by the Pool before the call returns. Only the owner can start a liquidation or rescue
 * anything sent here by mistake. The Pool and the swap pool are the only callers of the callbacks,
 * and only while a liquidation of this contract's own is under way.
 */

interface IERC20Minimal {
  function balanceOf(address account) external view returns (uint256);
}

interface IAavePoolMinimal {
  function flashLoanSimple(
    address receiverAddress,
    address asset,
    uint256 amount,
    bytes calldata params,
    uint16 referralCode
  ) external;

  function liquidationCall(
    address collateralAsset,
    address debtAsset,
    address user,
    uint256 debtToCover,
    bool receiveAToken
  ) external;
}

interface IUniswapV3PoolMinimal {
  function token0() external view returns (address);

  function token1() external view returns (address);

  function swap(
    address recipient,
    bool zeroForOne,
    int256 amountSpecified,
    uint160 sqrtPriceLimitX96,
    bytes calldata data
  ) external returns (int256 amount0, int256 amount1);
}

contract FlashLiquidator {
  struct Job {
    address collateral;
    address debt;
    address user;
    /** What liquidationCall is asked to repay (type(uint256).max: the Pool's own maximum). */
    uint256 debtToCover;
    /** What is flash-borrowed: at least what the Pool will pull; the rest comes back as profit. */
    uint256 flashAmount;
    /** The Uniswap v3 pool of (collateral, debt); unused when both are the same asset. */
    address swapPool;
    /** In debt-asset units, after the loan and its premium: less reverts everything. */
    uint256 minProfit;
    address profitTo;
  }

  address public immutable owner;
  address public immutable pool;

  /** The swap pool of the liquidation under way (zero otherwise): the only valid swap callback. */
  address private activeSwapPool;
  bool private active;

  uint160 private constant MIN_SQRT_RATIO_PLUS_ONE = 4295128740;
  uint160 private constant MAX_SQRT_RATIO_MINUS_ONE = 1461446703485210103287273052203988822378723970341;

  error NotOwner();
  error NotPool();
  error NotSwapPool();
  error Reentered();
  error WrongSwapPool();
  error ProfitBelowMinimum(uint256 profit, uint256 minimum);
  error TokenCallFailed(address token);
  error PaymentFailed();

  event FlashLiquidation(
    address indexed user,
    address indexed collateral,
    address indexed debt,
    uint256 collateralSeized,
    uint256 debtRepaid,
    uint256 profit
  );

  constructor(address aavePool, address owner_) {
    pool = aavePool;
    owner = owner_;
  }

  modifier onlyOwner() {
    if (msg.sender != owner) revert NotOwner();
    _;
  }

  function liquidate(Job calldata job) external payable onlyOwner {
    if (active) revert Reentered();
    active = true;
    IAavePoolMinimal(pool).flashLoanSimple(address(this), job.debt, job.flashAmount, abi.encode(job), 0);
    active = false;
    if (msg.value > 0) {
      (bool paid, ) = block.coinbase.call{value: msg.value}('');
      if (!paid) revert PaymentFailed();
    }
  }

  function executeOperation(
    address asset,
    uint256 amount,
    uint256 premium,
    address initiator,
    bytes calldata params
  ) external returns (bool) {
    if (msg.sender != pool || initiator != address(this) || !active) revert NotPool();
    Job memory job = abi.decode(params, (Job));

    _approve(asset, pool, amount);
    uint256 debtBefore = IERC20Minimal(asset).balanceOf(address(this));
    IAavePoolMinimal(pool).liquidationCall(job.collateral, asset, job.user, job.debtToCover, false);
    uint256 debtAfter = IERC20Minimal(asset).balanceOf(address(this));

    // Same asset on both sides: only the net of seized minus repaid is observable.
    uint256 repaid;
    uint256 seized;
    if (job.collateral != asset) {
      repaid = debtBefore - debtAfter;
      seized = IERC20Minimal(job.collateral).balanceOf(address(this));
      _swapAll(job.swapPool, job.collateral, asset, seized);
    } else {
      seized = debtAfter > debtBefore ? debtAfter - debtBefore : 0;
    }

    uint256 owed = amount + premium;
    uint256 balance = IERC20Minimal(asset).balanceOf(address(this));
    uint256 profit = balance > owed ? balance - owed : 0;
    if (balance < owed || profit < job.minProfit) revert ProfitBelowMinimum(profit, job.minProfit);
    if (profit > 0) _transfer(asset, job.profitTo, profit);
    // Exactly what the Pool pulls when this returns; nothing is left approved after it.
    _approve(asset, pool, owed);
    emit FlashLiquidation(job.user, job.collateral, asset, seized, repaid, profit);
    return true;
  }

  function _swapAll(address swapPool, address tokenIn, address tokenOut, uint256 amountIn) private {
    if (amountIn == 0) return;
    address token0 = IUniswapV3PoolMinimal(swapPool).token0();
    address token1 = IUniswapV3PoolMinimal(swapPool).token1();
    bool zeroForOne = tokenIn == token0;
    if (!(zeroForOne ? token1 == tokenOut : token0 == tokenOut && token1 == tokenIn)) revert WrongSwapPool();
    activeSwapPool = swapPool;
    IUniswapV3PoolMinimal(swapPool).swap(
      address(this),
      zeroForOne,
      int256(amountIn),
      zeroForOne ? MIN_SQRT_RATIO_PLUS_ONE : MAX_SQRT_RATIO_MINUS_ONE,
      abi.encode(tokenIn)
    );
    activeSwapPool = address(0);
  }

  function uniswapV3SwapCallback(int256 amount0Delta, int256 amount1Delta, bytes calldata data) external {
    if (msg.sender != activeSwapPool || msg.sender == address(0)) revert NotSwapPool();
    address tokenIn = abi.decode(data, (address));
    uint256 owedToPool = uint256(amount0Delta > 0 ? amount0Delta : amount1Delta);
    _transfer(tokenIn, msg.sender, owedToPool);
  }

  /** Anything sent here by mistake (token = address(0): ETH). */
  function rescue(address token, address to, uint256 amount) external onlyOwner {
    if (token == address(0)) {
      (bool sent, ) = to.call{value: amount}('');
      if (!sent) revert PaymentFailed();
    } else {
      _transfer(token, to, amount);
    }
  }

  // Tokens that return nothing (USDT) and tokens that return a bool are both accepted.
  function _transfer(address token, address to, uint256 amount) private {
    _tokenCall(token, abi.encodeWithSelector(0xa9059cbb, to, amount));
  }

  function _approve(address token, address spender, uint256 amount) private {
    _tokenCall(token, abi.encodeWithSelector(0x095ea7b3, spender, amount));
  }

  function _tokenCall(address token, bytes memory data) private {
    (bool ok, bytes memory answer) = token.call(data);
    if (!ok || (answer.length > 0 && !abi.decode(answer, (bool))) || token.code.length == 0)
      revert TokenCallFailed(token);
  }

  receive() external payable {}
}
