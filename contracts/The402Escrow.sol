// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @dev The subset of ERC-20 the escrow needs.
interface IERC20 {
    function balanceOf(address account) external view returns (uint256);
    function transfer(address to, uint256 value) external returns (bool);
}

/// @title The402Escrow
/// @notice Holds USDC per escrow id for the402 marketplace.
///
/// Flow: a buyer's x402 payment (an EIP-3009 transferWithAuthorization) sends USDC straight to
/// this contract. The platform's operator then calls `fund` to allocate exactly those tokens to
/// an escrow id. `fund` can only allocate tokens the contract already holds and has not
/// allocated yet, so the operator can never promise more than was paid in. Each escrow then
/// moves exactly once: `release` (payee + platform fee), `refund` (everything back to the
/// payer), `split` (partial delivery) or, after `expiry`, `reclaim` by the payer themself, so
/// buyer funds never depend on the platform staying alive. Tokens that arrived but were never
/// funded into an escrow (e.g. the platform crashed between settlement and `fund`) can be sent
/// back by the operator with `returnUnallocated`, which can never touch allocated funds.
///
/// After expiry both the operator (`release`/`refund`/`split`) and the payer (`reclaim`) may
/// settle a held escrow; whichever transaction lands first wins and the other reverts with
/// "Escrow: not held".
contract The402Escrow {
    enum State {
        None,
        Held,
        Released,
        Refunded,
        Split,
        Reclaimed
    }

    struct Escrow {
        address payer;
        address payee;
        uint256 amount; // payee's share
        uint256 fee; // platform fee, paid to the treasury
        uint64 expiry; // unix seconds; from then on the payer may reclaim
        State state;
    }

    IERC20 public immutable token;
    address public owner;
    address public operator;
    address public treasury;

    /// @notice Sum of amount + fee over all escrows in state Held.
    uint256 public totalAllocated;

    mapping(bytes32 => Escrow) public escrows;

    event Funded(
        bytes32 indexed id,
        address indexed payer,
        address indexed payee,
        uint256 amount,
        uint256 fee,
        uint64 expiry
    );
    event Released(bytes32 indexed id, address indexed payee, uint256 amount, uint256 fee);
    event Refunded(bytes32 indexed id, address indexed payer, uint256 value);
    event Split(bytes32 indexed id, uint256 payeeAmount, uint256 payerAmount, uint256 feeAmount);
    event Reclaimed(bytes32 indexed id, address indexed payer, uint256 value);
    event UnallocatedReturned(address indexed to, uint256 value);
    event OperatorChanged(address indexed previousOperator, address indexed newOperator);
    event TreasuryChanged(address indexed previousTreasury, address indexed newTreasury);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    modifier onlyOwner() {
        require(msg.sender == owner, "Escrow: caller is not the owner");
        _;
    }

    modifier onlyOperator() {
        require(msg.sender == operator, "Escrow: caller is not the operator");
        _;
    }

    constructor(address token_, address operator_, address treasury_) {
        require(token_ != address(0), "Escrow: token is the zero address");
        require(operator_ != address(0), "Escrow: operator is the zero address");
        require(treasury_ != address(0), "Escrow: treasury is the zero address");
        token = IERC20(token_);
        owner = msg.sender;
        operator = operator_;
        treasury = treasury_;
        emit OwnershipTransferred(address(0), msg.sender);
        emit OperatorChanged(address(0), operator_);
        emit TreasuryChanged(address(0), treasury_);
    }

    // ---------------------------------------------------------------- administration

    function setOperator(address newOperator) external onlyOwner {
        require(newOperator != address(0), "Escrow: operator is the zero address");
        emit OperatorChanged(operator, newOperator);
        operator = newOperator;
    }

    function setTreasury(address newTreasury) external onlyOwner {
        require(newTreasury != address(0), "Escrow: treasury is the zero address");
        emit TreasuryChanged(treasury, newTreasury);
        treasury = newTreasury;
    }

    function transferOwnership(address newOwner) external onlyOwner {
        require(newOwner != address(0), "Escrow: owner is the zero address");
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
    }

    // ---------------------------------------------------------------- views

    /// @notice Tokens held by the contract that no escrow has claimed.
    function unallocated() public view returns (uint256) {
        uint256 balance = token.balanceOf(address(this));
        return balance > totalAllocated ? balance - totalAllocated : 0;
    }

    // ---------------------------------------------------------------- escrow lifecycle

    /// @notice Allocates `amount + fee` of the tokens this contract already received (and has
    ///         not allocated) to escrow `id`.
    function fund(
        bytes32 id,
        address payer,
        address payee,
        uint256 amount,
        uint256 fee,
        uint64 expiry
    ) external onlyOperator {
        require(escrows[id].state == State.None, "Escrow: id already used");
        require(payer != address(0), "Escrow: payer is the zero address");
        require(payee != address(0), "Escrow: payee is the zero address");
        uint256 total = amount + fee;
        require(total > 0, "Escrow: zero value");
        require(expiry > block.timestamp, "Escrow: expiry must be in the future");
        require(unallocated() >= total, "Escrow: insufficient unallocated funds");

        totalAllocated += total;
        escrows[id] = Escrow({
            payer: payer,
            payee: payee,
            amount: amount,
            fee: fee,
            expiry: expiry,
            state: State.Held
        });
        emit Funded(id, payer, payee, amount, fee, expiry);
    }

    /// @notice Delivery accepted: payee gets `amount`, treasury gets `fee`.
    function release(bytes32 id) external onlyOperator {
        Escrow storage e = _takeHeld(id, State.Released);
        address payee = e.payee;
        uint256 amount = e.amount;
        uint256 fee = e.fee;
        emit Released(id, payee, amount, fee);
        _send(payee, amount);
        _send(treasury, fee);
    }

    /// @notice Delivery failed: payer gets `amount + fee` back.
    function refund(bytes32 id) external onlyOperator {
        Escrow storage e = _takeHeld(id, State.Refunded);
        address payer = e.payer;
        uint256 value = e.amount + e.fee;
        emit Refunded(id, payer, value);
        _send(payer, value);
    }

    /// @notice Partial delivery. Rule (all integer maths, rounding down):
    ///           payee    gets payeeAmount                      (payeeAmount <= amount)
    ///           treasury gets fee * payeeAmount / amount       (0 if amount == 0)
    ///           payer    gets everything else = (amount - payeeAmount) + (fee - treasury's part)
    ///         i.e. the platform fee is charged pro rata to what the payee receives, and any
    ///         rounding dust goes back to the payer.
    function split(bytes32 id, uint256 payeeAmount) external onlyOperator {
        Escrow storage e = _takeHeld(id, State.Split);
        uint256 amount = e.amount;
        uint256 fee = e.fee;
        require(payeeAmount <= amount, "Escrow: payee amount exceeds escrow amount");
        uint256 feeAmount = amount == 0 ? 0 : (fee * payeeAmount) / amount;
        uint256 payerAmount = (amount - payeeAmount) + (fee - feeAmount);
        emit Split(id, payeeAmount, payerAmount, feeAmount);
        _send(e.payee, payeeAmount);
        _send(treasury, feeAmount);
        _send(e.payer, payerAmount);
    }

    /// @notice After expiry the payer can take their money back without the operator.
    function reclaim(bytes32 id) external {
        Escrow storage e = escrows[id];
        require(e.state == State.Held, "Escrow: not held");
        require(msg.sender == e.payer, "Escrow: caller is not the payer");
        require(block.timestamp >= e.expiry, "Escrow: not expired");
        e.state = State.Reclaimed;
        uint256 value = e.amount + e.fee;
        totalAllocated -= value;
        emit Reclaimed(id, msg.sender, value);
        _send(msg.sender, value);
    }

    /// @notice Sends tokens that no escrow has claimed (e.g. a payment that settled on-chain but
    ///         was never funded because the platform crashed). Never touches allocated funds.
    function returnUnallocated(address to, uint256 value) external onlyOperator {
        require(to != address(0), "Escrow: recipient is the zero address");
        require(value > 0, "Escrow: zero value");
        require(value <= unallocated(), "Escrow: insufficient unallocated funds");
        emit UnallocatedReturned(to, value);
        _send(to, value);
    }

    // ---------------------------------------------------------------- internals

    /// @dev Checks that `id` is held, moves it to `next` and frees its allocation, all before
    ///      any token transfer (checks-effects-interactions).
    function _takeHeld(bytes32 id, State next) private returns (Escrow storage e) {
        e = escrows[id];
        require(e.state == State.Held, "Escrow: not held");
        e.state = next;
        totalAllocated -= e.amount + e.fee;
    }

    function _send(address to, uint256 value) private {
        if (value == 0) return;
        require(token.transfer(to, value), "Escrow: token transfer failed");
    }
}
